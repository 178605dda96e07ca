//! Keeping the homes: every lease this process holds is renewed in ONE write every third of the
//! lease (one another machine took meanwhile is lost: its actors here stop), with the releases
//! that could not be written when asked; and a sweep adopts unfinished stories whose owner has
//! no live home (their machine died, or this one restarted), so stories finish while nobody is
//! connected, and lets go of homes nobody has used for a while.

use super::{ClaimReason, Homes};
use actors::model::UserId;
use actors::ports::OwnedStory;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The renewals and the sweep, each a task of its own (many claims in a sweep must not delay a
/// renewal), until these homes are gone or the tasks are aborted.
pub struct Upkeep(Vec<JoinHandle<()>>);

impl Upkeep {
    pub fn stop(self) {
        for task in self.0 {
            task.abort();
        }
    }
}

/// Run `work` on `homes` every `every` (the first at once; a tick missed while the process was
/// paused is run once, late) while they exist.
fn every<F>(homes: &Arc<Homes>, every: Duration, work: fn(Arc<Homes>) -> F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let homes = Arc::downgrade(homes);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(homes) = homes.upgrade() else { return };
            work(homes).await;
        }
    })
}

impl Homes {
    /// Start renewing and sweeping; the first sweep runs at once (it adopts what a crash or a
    /// deploy left unfinished).
    pub fn keep(self: &Arc<Self>) -> Upkeep {
        let renewals = every(self, self.settings.renew_every(), |homes| async move { homes.renew().await });
        let sweeps = every(self, self.settings.sweep, |homes| async move { homes.sweep().await });
        Upkeep(vec![renewals, sweeps])
    }

    /// Write pending releases, then renew every lease held in one write.
    pub(super) async fn renew(&self) {
        let releasing = self.leases.releasing();
        if !releasing.is_empty() {
            match self.db.release_homes(&self.holder, &releasing).await {
                Ok(()) => releasing.into_iter().for_each(|(user, epoch)| self.leases.released(user, epoch)),
                Err(e) => tracing::warn!(error = %e, "could not release homes; trying again at the next renewal"),
            }
        }
        let held = self.leases.held();
        if held.is_empty() {
            return;
        }
        let sent = Instant::now();
        let still: HashMap<UserId, i64> = match self.db.renew_homes(&self.holder, self.settings.lease).await {
            Ok(still) => still.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, homes = held.len(), "could not renew this machine's homes");
                return;
            }
        };
        for (user, epoch) in held {
            if still.get(&user) == Some(&epoch) {
                self.leases.renewed(user, epoch, sent + self.settings.lease);
            } else if self.leases.lose(user, Some(epoch)) {
                // The renewal of a home another machine claimed: refused by the fence.
                self.metrics().fenced_writes.inc();
                tracing::warn!(%user, "another machine became this user's home; stopping their actors here");
                if let Some(engine) = self.engine() {
                    engine.lost_home(user);
                }
            }
        }
    }

    /// Adopt the unfinished stories of users held here, and claim (then adopt) those of users
    /// with no live home; let go of homes unused for the idle time with nothing running here.
    pub(super) async fn sweep(&self) {
        let unfinished = match self.db.unfinished_with_homes().await {
            Ok(unfinished) => unfinished,
            Err(e) => {
                tracing::warn!(error = %e, "could not list the unfinished stories");
                return;
            }
        };
        let mut owners: Vec<UserId> = Vec::new();
        let mut stories: HashMap<UserId, (Vec<OwnedStory>, bool)> = HashMap::new();
        for (story, home) in unfinished {
            let entry = stories.entry(story.owner).or_insert_with(|| {
                owners.push(story.owner);
                (Vec::new(), home.as_ref().is_some_and(|h| self.elsewhere(h).is_some()))
            });
            entry.0.push(story);
        }
        let mut adopt = Vec::new();
        for owner in owners {
            let Some((owned, elsewhere)) = stories.remove(&owner) else { continue };
            if self.leases.epoch(owner).is_some() {
                adopt.extend(owned);
                continue;
            }
            if elsewhere {
                continue;
            }
            let _one_at_a_time = self.stripe(owner).lock().await;
            if self.leases.epoch(owner).is_some() {
                adopt.extend(owned);
            } else if let Err(e) = self.claim(owner, ClaimReason::Sweep).await {
                // The claim adopts. Failing here, the primary is away: the next sweep tries again.
                tracing::warn!(user = %owner, error = %e, "could not claim the home of a user with unfinished stories");
                break;
            }
        }
        if let Some(engine) = self.engine() {
            engine.adopt(adopt);
        }
        for user in self.leases.unused_for(self.settings.idle) {
            self.release_if_idle(user).await;
        }
    }
}
