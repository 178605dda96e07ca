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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{temp_db, users};
    use actors::model::{Draft, Scene, SceneId, Stage, StoryStatus};
    use actors::ports::{
        ConversationStore, Creation, KeptRing, OwnedStory, Progress, RingStore, Speaker, StoreErrorKind, StoryStore,
        TurnRecord,
    };
    use std::sync::Mutex;
    use std::time::Duration;

    /// A process that believes it holds the home with the epoch it claimed, and counts refusals.
    struct Believer(Fence, Mutex<u32>);

    impl Fences for Believer {
        fn fence(&self, _: UserId) -> Option<Fence> {
            Some(self.0.clone())
        }
        fn fenced(&self, _: UserId) {
            *self.1.lock().unwrap() += 1;
        }
    }

    /// The process's in-memory belief is stale (it was paused past its lease): only the
    /// condition in each statement, decided where the writes meet, stops its writes.
    #[tokio::test]
    async fn writes_with_a_lost_epoch_are_refused_by_the_database_and_change_nothing() {
        let (_dir, db) = temp_db(1).await;
        let user = users(&db, 1).await[0];
        let lease = Duration::from_secs(15);
        let epoch = db.claim_home(user, "m1", "m1/a", lease).await.unwrap().unwrap().epoch;
        let believer = Arc::new(Believer(Fence { holder: "m1/a".into(), epoch }, Mutex::new(0)));
        let fences: Arc<dyn Fences> = believer.clone();
        db.fence_with(&fences);
        let request = actors::requirements::request_from("a fox called Ruby");
        let spec = actors::model::StorySpec::new(request, &actors::model::SpecLimits::default()).unwrap();
        let Creation::Created(id) = db.create_story(user, &spec, None, None).await.unwrap() else { panic!() };
        let story = OwnedStory { id, owner: user };
        let progress = Progress { status: StoryStatus::Processing, stage: Stage::Writing, error: None };
        db.set_progress(story, &progress).await.unwrap();
        let turn = TurnRecord { speaker: Speaker::Child, content: "a fox".into(), client_id: Some("c1".into()) };
        assert!(db.record_turn(user, "c", &turn, &Draft::default()).await.unwrap(), "held: written");
        // A finished story with a page waiting to be redone.
        let request = actors::requirements::request_from("an owl called Hoot");
        let spec = actors::model::StorySpec::new(request, &actors::model::SpecLimits::default()).unwrap();
        let Creation::Created(other) = db.create_story(user, &spec, None, None).await.unwrap() else { panic!() };
        let finished = OwnedStory { id: other, owner: user };
        let page = |text: &str| Scene {
            scene_id: SceneId::new(),
            sequence: 1,
            title: "One".into(),
            text: text.into(),
            image_key: None,
            audio_key: None,
            written_by: None,
        };
        db.save_scene(finished, &page("Hoot flew.")).await.unwrap();
        let done = Progress { status: StoryStatus::Completed, stage: Stage::Done, error: None };
        db.set_progress(finished, &done).await.unwrap();
        db.request_redo(other, 1, None, 3).await.unwrap();
        let redo = db.redos_waiting(other).await.unwrap().remove(0);

        // Its lease lapses and another machine takes the user over.
        db.renew_homes("m1/a", Duration::ZERO).await.unwrap();
        assert_eq!(db.claim_home(user, "m2", "m2/b", lease).await.unwrap().unwrap().epoch, epoch + 1);
        let conversation = async || format!("{:?}", db.load_conversation(user).await.unwrap());
        let before = (db.story(id).await.unwrap().unwrap().updated_at, conversation().await);

        let scene = Scene {
            scene_id: SceneId::new(),
            sequence: 1,
            title: "One".into(),
            text: "Ruby ran.".into(),
            image_key: None,
            audio_key: None,
            written_by: None,
        };
        let done = Progress { status: StoryStatus::Completed, stage: Stage::Done, error: None };
        let turn = TurnRecord { speaker: Speaker::Child, content: "a bear".into(), client_id: Some("c2".into()) };
        let ring = KeptRing { complete_after: 0, last_seq: 1, events: vec![(1, "{}".into())] };
        let kinds = [
            db.save_scene(story, &scene).await.map(drop),
            db.set_progress(story, &done).await,
            db.save_cover(story, "cover").await,
            db.record_turn(user, "c", &turn, &Draft::default()).await.map(drop),
            db.save_draft(user, "d", &Draft::default()).await,
            db.keep_ring(user, &ring).await,
        ]
        .map(|written| written.map_err(|e| e.kind()));
        assert_eq!(kinds, [Err(StoreErrorKind::Fenced); 6]);
        assert_eq!(*believer.1.lock().unwrap(), 6, "each refusal told");
        let stored = db.story(id).await.unwrap().unwrap();
        assert_eq!((stored.status, stored.cover_key.as_deref()), (StoryStatus::Processing, None));
        assert_eq!((stored.updated_at, conversation().await), before, "nothing changed");
        assert!(db.load_story(id).await.unwrap().unwrap().scenes.is_empty());
        assert_eq!(db.take_ring(user).await.map_err(|e| e.kind()), Err(StoreErrorKind::Fenced));
        let redone = StoryStore::replace_scene(&db, finished, &redo, &page("Hoot swam.")).await;
        let kept = StoryStore::give_up_redo(&db, finished, &redo).await;
        assert_eq!([redone.map(drop), kept].map(|r| r.map_err(|e| e.kind())), [Err(StoreErrorKind::Fenced); 2]);
        assert_eq!(db.redos_waiting(other).await.unwrap(), [redo], "the redo waits for the real home");
        assert_eq!(db.load_story(other).await.unwrap().unwrap().scenes[0].text, "Hoot flew.");
    }
}
