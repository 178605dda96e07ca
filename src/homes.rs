//! Homes: each user's live state (their conversation actor, with its draft, event ring and
//! sockets, and their story actors) has one owner, the user's home machine. A row of the
//! `homes` table in the primary is the lease: this process claims it when it needs the user's
//! live state and no other live home exists, renews all it holds in one write every third of
//! the lease, and lets it go when the user's actors are passivated, so the home follows the
//! family. Each new holder gets a higher epoch, which fences every write of the user's live
//! state (`db::fence`): a machine that lost the home writes nothing, notices, and stops the
//! user's actors here (their sockets close with 1012 and the app reconnects to the new home).
//! Requests of a user whose home is elsewhere are answered with `fly-replay` (`route`).
//!
//! One machine with a local file runs the same code: it is the only holder there is.

mod leases;
mod route;
mod upkeep;

pub use route::{HomeUser, route};

use crate::config::{HomeSettings, InstanceId};
use crate::db::homes::{HomeRow, now_ms};
use crate::db::{Db, DbError, Fence, Fences};
use crate::metrics::{ClaimReason, HomeMetrics};
use actors::Engine;
use actors::model::UserId;
use actors::ports::{Residency, StoreErrorKind};
use leases::Leases;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

/// Claims and releases of one user's home are made one at a time (64 stripes by user).
const STRIPES: usize = 64;

/// Where a request of a user is served.
#[derive(Debug)]
pub enum Placement {
    /// This machine is (now) the user's home.
    Here,
    /// The user's home is this other machine: replay the request there.
    Elsewhere(InstanceId),
    /// Not here, and not to be replayed (it was replayed here already, or no home can be
    /// settled now): come back shortly.
    NotHere,
    /// No home for this user: the account is gone (a valid token of a deleted account).
    NoSuchUser(DbError),
}

pub struct Homes {
    settings: HomeSettings,
    /// This process: changes at every start, so a restarted machine's old claims are not its own.
    holder: Arc<str>,
    db: Db,
    leases: Leases,
    stripes: Vec<tokio::sync::Mutex<()>>,
    engine: OnceLock<Weak<Engine>>,
    metrics: Arc<crate::metrics::Metrics>,
    /// These homes, for the tasks they start.
    this: Weak<Self>,
}

impl Homes {
    pub fn new(db: Db, settings: HomeSettings, metrics: Arc<crate::metrics::Metrics>) -> Arc<Self> {
        let holder = format!("{}/{}", settings.instance, &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let leases = Leases::new(metrics.homes.held.clone());
        let stripes = (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect();
        let homes = Arc::new_cyclic(|this| Self {
            settings,
            holder: holder.into(),
            db,
            leases,
            stripes,
            engine: OnceLock::new(),
            metrics,
            this: this.clone(),
        });
        let fences: Arc<dyn Fences> = homes.clone();
        homes.db.fence_with(&fences);
        homes
    }

    /// The actor tree whose users these homes are (set once, when it has started).
    pub fn attach(&self, engine: &Arc<Engine>) {
        let _ = self.engine.set(Arc::downgrade(engine));
    }

    pub fn instance(&self) -> &InstanceId {
        &self.settings.instance
    }

    fn metrics(&self) -> &HomeMetrics {
        &self.metrics.homes
    }

    fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.get().and_then(Weak::upgrade)
    }

    fn stripe(&self, user: UserId) -> &tokio::sync::Mutex<()> {
        let hash = user.to_string().bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
        &self.stripes[hash % STRIPES]
    }

    /// Whether `home` is a live home of another process than this one.
    fn elsewhere(&self, home: &HomeRow) -> Option<InstanceId> {
        let live = home.live_at(now_ms()) && *home.holder != *self.holder;
        // This machine's own name with another holder is a process before this one: not a
        // home to replay to (a claim takes it over at once).
        if !live || home.instance == self.settings.instance.as_str() {
            return None;
        }
        InstanceId::try_from(home.instance.clone()).ok()
    }

    /// Where a request of `user` is served: here when this process holds their home (no round
    /// trip), or no live home exists anywhere (it claims it); else where their home is, unless
    /// the request was replayed here already. `read` requests are served from this replica
    /// when the primary cannot be reached to settle it.
    pub async fn place(&self, user: UserId, replayed: bool, read: bool) -> Placement {
        if self.leases.serves(user) {
            return Placement::Here;
        }
        let _one_at_a_time = self.stripe(user).lock().await;
        if self.leases.serves(user) {
            return Placement::Here;
        }
        let not_here = |home: InstanceId| if replayed { Placement::NotHere } else { Placement::Elsewhere(home) };
        let known = self.db.home_of(user).await;
        if let Ok(Some(home)) = &known
            && let Some(elsewhere) = self.elsewhere(home)
        {
            return not_here(elsewhere);
        }
        let reason = if replayed { ClaimReason::Replayed } else { ClaimReason::Request };
        match self.claim(user, reason).await {
            Ok(true) => Placement::Here,
            // This replica was behind: it knows where the home is now (the write synced it).
            Ok(false) => match self.db.home_of(user).await.ok().flatten().and_then(|h| self.elsewhere(&h)) {
                Some(elsewhere) => not_here(elsewhere),
                None => Placement::NotHere,
            },
            Err(e) if e.kind() == StoreErrorKind::ReferenceGone => Placement::NoSuchUser(e),
            Err(e) => {
                tracing::warn!(%user, error = %e, "could not claim a user's home");
                match known.ok().flatten().and_then(|h| self.elsewhere(&h)) {
                    Some(elsewhere) => not_here(elsewhere),
                    None if read => Placement::Here,
                    None => Placement::NotHere,
                }
            }
        }
    }

    /// Claim `user`'s home (the caller holds their stripe): whether this process holds it now.
    /// A new claim adopts the user's unfinished stories.
    async fn claim(&self, user: UserId, reason: ClaimReason) -> Result<bool, DbError> {
        let sent = Instant::now();
        let Some(claim) =
            self.db.claim_home(user, self.settings.instance.as_str(), &self.holder, self.settings.lease).await?
        else {
            return Ok(false);
        };
        let before = self.leases.hold(user, claim.epoch, sent + self.settings.lease);
        self.metrics().claimed(reason);
        if let Some(from) = &claim.taken_from {
            self.metrics().takeovers.inc();
            tracing::info!(%user, from = %from, epoch = claim.epoch, "took over a home whose lease had lapsed");
        } else {
            tracing::debug!(%user, epoch = claim.epoch, reason = reason.as_str(), "claimed a home");
        }
        let engine = self.engine();
        if let (Some(engine), Some(before)) = (&engine, before)
            && before != claim.epoch
        {
            // Held before with another epoch: another machine had it meanwhile. What ran here
            // then is stale; it stops, and the stories start again from what is stored.
            engine.lost_home(user);
        }
        if let Some(engine) = engine {
            match self.db.unfinished_of(user).await {
                Ok(stories) => engine.adopt(stories),
                Err(e) => tracing::warn!(%user, error = %e, "could not list a user's unfinished stories"),
            }
        }
        Ok(true)
    }

    /// Another machine is `user`'s home: forget it here and stop their actors.
    fn lost(&self, user: UserId, epoch: Option<i64>) {
        if self.leases.lose(user, epoch) {
            tracing::warn!(%user, "another machine became this user's home; stopping their actors here");
        }
        if let Some(engine) = self.engine() {
            engine.lost_home(user);
        }
    }

    /// Let go of `user`'s home if nothing of theirs runs here: no conversation, no unfinished
    /// story (the caller holds nothing; the stripe is taken here).
    async fn release_if_idle(&self, user: UserId) {
        let _one_at_a_time = self.stripe(user).lock().await;
        if self.engine().is_some_and(|engine| engine.has_conversation(user)) {
            return;
        }
        match self.db.unfinished_of(user).await {
            Ok(stories) if stories.is_empty() => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(%user, error = %e, "could not tell whether a user's stories are finished");
                return;
            }
        }
        let Some(epoch) = self.leases.start_release(user) else { return };
        match self.db.release_homes(&self.holder, &[(user, epoch)]).await {
            Ok(()) => self.leases.released(user, epoch),
            // Still being let go: the next renewal writes it.
            Err(e) => tracing::warn!(%user, error = %e, "could not release a home; trying again later"),
        }
    }

    /// Let go of every home this process holds (a graceful stop, once its actors have stopped).
    pub async fn release_all(&self) {
        match self.db.release_all_homes(Some(&self.holder)).await {
            Ok(released) => tracing::info!(released, "released this machine's homes"),
            Err(e) => tracing::warn!(error = %e, "could not release this machine's homes; they lapse instead"),
        }
    }
}

impl Fences for Homes {
    fn fence(&self, user: UserId) -> Option<Fence> {
        self.leases.epoch(user).map(|epoch| Fence { holder: self.holder.clone(), epoch })
    }

    fn fenced(&self, user: UserId) {
        self.metrics().fenced_writes.inc();
        self.lost(user, None);
    }
}

impl Residency for Homes {
    fn passivated(&self, user: UserId) {
        // Called from the conversation supervisor: the writes happen off it.
        let Some(homes) = self.this.upgrade() else { return };
        tokio::spawn(async move { homes.release_if_idle(user).await });
    }
}
