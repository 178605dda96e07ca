//! Fencing: each write of a user's live state (scenes, story progress, turns, drafts, rings)
//! carries the epoch this process holds the user's home with, as a condition of the statement
//! itself, decided where every machine's writes meet (the primary): it goes through only while
//! `homes` still names this process with that epoch. A machine that lost the home while paused
//! or cut off writes nothing once another machine has claimed it; it learns so from the write
//! (or refuses at once, without a round trip, when it already knows), and its user's actors stop.

use super::{Db, DbError, DbResult, query_one};
use actors::model::UserId;
use libsql::{Connection, Value};
use std::sync::{Arc, Weak};

/// What a write of one user's live state is fenced with: this process and the epoch of its claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub holder: Arc<str>,
    pub epoch: i64,
}

/// Where the database learns which homes this process holds (the edge's leases).
pub trait Fences: Send + Sync + 'static {
    /// The fence for writes of `user`'s live state; `None`: this process is not their home.
    fn fence(&self, user: UserId) -> Option<Fence>;
    /// A write of `user`'s live state was refused: another machine is their home.
    fn fenced(&self, user: UserId);
}

/// The condition a fenced statement adds (`… AND` it, or `WHERE` it): the values `?{at}` (the
/// user), `?{at + 1}` (the holder; NULL when nothing fences) and `?{at + 2}` (the epoch).
pub(crate) fn condition(at: usize) -> String {
    let (holder, epoch) = (at + 1, at + 2);
    format!(
        "(?{holder} IS NULL OR EXISTS (SELECT 1 FROM homes WHERE user_id = ?{at} AND holder = ?{holder} AND epoch = ?{epoch}))"
    )
}

/// Asks whether a fence holds: `homes` has a row for every user ever claimed (a release keeps
/// it), so no row means the user was deleted (their home with them).
pub(crate) const HOLDS: &str = "SELECT holder = ?2 AND epoch = ?3 FROM homes WHERE user_id = ?1";

/// What [`HOLDS`] answered: whether the fence holds; `UserGone` when the user no longer exists.
pub(crate) fn held(answer: Option<bool>) -> DbResult<bool> {
    answer.ok_or(DbError::UserGone)
}

/// Whether `fence` still holds `user`'s home, read on `conn` after a write: a replica has caught
/// up with the primary by then (a delegated write syncs before it returns), the local file
/// always has.
pub(crate) async fn holds(conn: &Connection, user: UserId, fence: &Fence) -> DbResult<bool> {
    let params = libsql::params![user.to_string(), fence.holder.to_string(), fence.epoch];
    held(query_one(conn, HOLDS, params, |row| Ok(row.get::<bool>(0)?)).await?)
}

/// The holder and epoch values of the condition (NULLs when nothing fences).
pub(crate) fn values(fence: Option<&Fence>) -> [Value; 2] {
    match fence {
        Some(fence) => [Value::Text(fence.holder.to_string()), Value::Integer(fence.epoch)],
        None => [Value::Null, Value::Null],
    }
}

impl Db {
    /// Fence writes of live state with `fences` (set once, by the app's wiring; a database
    /// without it, in its own unit tests, writes unfenced). Held weakly: they hold the database.
    pub fn fence_with(&self, fences: &Arc<dyn Fences>) {
        let _ = self.inner.fences.set(Arc::downgrade(fences));
    }

    /// The fence for a write of `user`'s live state: `None` when nothing fences; refused at
    /// once when this process knows it is not their home.
    pub(crate) fn fence_for(&self, user: UserId) -> DbResult<Option<Fence>> {
        let Some(fences) = self.inner.fences.get() else { return Ok(None) };
        // Gone: the service is stopping, and holds nothing any more.
        let Some(fences) = fences.upgrade() else { return Err(DbError::Fenced) };
        match fences.fence(user) {
            Some(fence) => Ok(Some(fence)),
            None => {
                fences.fenced(user);
                Err(DbError::Fenced)
            }
        }
    }

    /// After a fenced write that may not have gone through: whether the fence refused it (and
    /// if so, say so).
    pub(crate) async fn refused_by_fence(
        &self,
        conn: &Connection,
        user: UserId,
        fence: Option<&Fence>,
    ) -> DbResult<bool> {
        let Some(fence) = fence else { return Ok(false) };
        let refused = !holds(conn, user, fence).await?;
        if refused {
            self.note_fenced(user);
        }
        Ok(refused)
    }

    /// A write of `user`'s live state was refused by the fence.
    pub(crate) fn note_fenced(&self, user: UserId) {
        if let Some(fences) = self.inner.fences.get().and_then(Weak::upgrade) {
            fences.fenced(user);
        }
    }
}
