//! Pages of finished stories redone on request: asked for within a per-day limit, loaded with
//! their story, and done in one write that puts the new scene in place of the old one. Each
//! write is one call with its conditions in the statements (as a replica's primary needs),
//! its outcome read back.

use super::fence::{condition, values};
use super::{Db, DbError, DbResult, Sql, now_text, parse, query_all, query_one};
use actors::model::{Redo, Scene, StoryId, StoryStatus, Writer};
use actors::ports::{OwnedStory, RedoRequest};
use chrono::{DateTime, SecondsFormat, Utc};
use libsql::Connection;
use std::time::Duration;

const DAY: chrono::TimeDelta = chrono::TimeDelta::days(1);

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Queue a redo, only when the story is completed, has the scene, is not redoing it already and
/// had fewer than `?7` redos since `?6`: decided in the write itself (on a replica's primary,
/// where every machine's requests meet). The take counts the scene's earlier redos.
const REQUEST_REDO: &str = "INSERT INTO scene_redos (id, story_id, sequence, hint, take, requested_at)
    SELECT ?1, ?2, ?3, ?4, (SELECT count(*) FROM scene_redos r WHERE r.story_id = ?2 AND r.sequence = ?3) + 1, ?5
    WHERE EXISTS (SELECT 1 FROM stories s WHERE s.id = ?2 AND s.status = 'completed')
    AND EXISTS (SELECT 1 FROM scenes c WHERE c.story_id = ?2 AND c.sequence = ?3)
    AND NOT EXISTS (SELECT 1 FROM scene_redos r WHERE r.story_id = ?2 AND r.sequence = ?3 AND r.finished_at IS NULL)
    AND (SELECT count(*) FROM scene_redos r WHERE r.story_id = ?2 AND r.requested_at > ?6) < ?7";

impl Db {
    /// Queue a redo of scene `sequence` of story `id`, unless the story is not completed, has
    /// no such scene, is already redoing it, or had `per_day` redos in the last 24 hours. One
    /// write, its outcome read back (a retried write that had reached the primary is found).
    pub async fn request_redo(
        &self,
        id: StoryId,
        sequence: u32,
        hint: Option<&str>,
        per_day: u32,
    ) -> DbResult<RedoRequest> {
        // Time-ordered ids: redos asked for in the same millisecond keep their order.
        let (redo, story, at, now) =
            (uuid::Uuid::now_v7().to_string(), id.to_string(), i64::from(sequence), Utc::now());
        let insert = Sql::new(
            REQUEST_REDO,
            libsql::params![
                redo.as_str(),
                story.as_str(),
                at,
                hint.map(str::to_owned),
                stamp(now),
                stamp(now - DAY),
                i64::from(per_day)
            ],
        )?;
        let conn = self.writer().await;
        conn.write(insert).await?;
        if query_one(&conn, "SELECT 1 FROM scene_redos WHERE id = ?1", [redo.as_str()], |_| Ok(())).await?.is_some() {
            return Ok(RedoRequest::Queued);
        }
        // Not queued: say why, the first reason that holds.
        let status = query_one(&conn, "SELECT status, num_scenes FROM stories WHERE id = ?1", [story.as_str()], |r| {
            Ok((parse::<StoryStatus>(&r.get::<String>(0)?, "status")?, r.get::<i64>(1)?))
        })
        .await?;
        let Some((status, scenes)) = status else { return Ok(RedoRequest::NoSuchScene) };
        if !(1..=scenes).contains(&at) {
            return Ok(RedoRequest::NoSuchScene);
        }
        if status != StoryStatus::Completed {
            return Ok(RedoRequest::NotCompleted);
        }
        let exists = "SELECT 1 FROM scenes WHERE story_id = ?1 AND sequence = ?2";
        if query_one(&conn, exists, libsql::params![story.as_str(), at], |_| Ok(())).await?.is_none() {
            return Ok(RedoRequest::NoSuchScene);
        }
        let busy = "SELECT 1 FROM scene_redos WHERE story_id = ?1 AND sequence = ?2 AND finished_at IS NULL";
        if query_one(&conn, busy, libsql::params![story.as_str(), at], |_| Ok(())).await?.is_some() {
            return Ok(RedoRequest::InProgress);
        }
        let oldest = query_one(
            &conn,
            "SELECT min(requested_at) FROM scene_redos WHERE story_id = ?1 AND requested_at > ?2",
            libsql::params![story.as_str(), stamp(now - DAY)],
            |r| Ok(r.get::<Option<String>>(0)?),
        )
        .await?
        .flatten();
        let oldest = oldest.map(|t| parse::<DateTime<Utc>>(&t, "redo time")).transpose()?.unwrap_or(now);
        let retry_after = (oldest + DAY - now).to_std().unwrap_or(Duration::ZERO);
        Ok(RedoRequest::Limited { limit: per_day, retry_after })
    }

    /// The redos of story `id` waiting to be done, oldest first.
    pub async fn redos_waiting(&self, id: StoryId) -> DbResult<Vec<Redo>> {
        let conn = self.reader().await;
        waiting(&conn, id).await
    }

    /// `scene` in place of the stored scene of its sequence, and `redo` done, in one write (the
    /// scene is replaced only while the redo is not done, so a retried write changes nothing).
    /// The old scene's media keys nothing refers to any more; `None` when nothing was replaced
    /// (the story is gone, or the redo is not waiting any more).
    pub async fn replace_scene(&self, owned: OwnedStory, redo: &Redo, scene: &Scene) -> DbResult<Option<Vec<String>>> {
        // Fenced: only the owner's home redoes a page (see `fence`).
        let fence = self.fence_for(owned.owner)?;
        let [holder, epoch] = values(fence.as_ref());
        let (id, owner) = (owned.id, owned.owner.to_string());
        let (story, at, now) = (id.to_string(), i64::from(scene.sequence), now_text());
        let replace = Sql::new(
            format!(
                "UPDATE scenes SET id = ?4, title = ?5, text = ?6, image_key = ?7, audio_key = ?8, written_by = ?9,
                 created_at = ?10 WHERE story_id = ?11 AND sequence = ?12
                 AND EXISTS (SELECT 1 FROM scene_redos WHERE id = ?13 AND finished_at IS NULL) AND {}",
                condition(1)
            ),
            libsql::params![
                owner.as_str(),
                holder.clone(),
                epoch.clone(),
                scene.scene_id.to_string(),
                scene.title.as_str(),
                scene.text.as_str(),
                scene.image_key.clone(),
                scene.audio_key.clone(),
                scene.written_by.map(Writer::as_str),
                now.as_str(),
                story.as_str(),
                at,
                redo.id.as_str()
            ],
        )?;
        let done = Sql::new(
            format!(
                "UPDATE scene_redos SET finished_at = ?4, outcome = 'redone' WHERE id = ?5 AND finished_at IS NULL AND {}",
                condition(1)
            ),
            libsql::params![owner.as_str(), holder.clone(), epoch.clone(), now.as_str(), redo.id.as_str()],
        )?;
        let touch = Sql::new(
            format!("UPDATE stories SET updated_at = ?4 WHERE id = ?5 AND {}", condition(1)),
            libsql::params![owner.as_str(), holder, epoch, now.as_str(), story.as_str()],
        )?;
        let conn = self.writer().await;
        let old = query_one(
            &conn,
            "SELECT id, image_key, audio_key FROM scenes WHERE story_id = ?1 AND sequence = ?2",
            libsql::params![story.as_str(), at],
            |r| Ok((r.get::<String>(0)?, [r.get::<Option<String>>(1)?, r.get::<Option<String>>(2)?])),
        )
        .await?;
        let Some((old_id, old_keys)) = old else { return Ok(None) };
        conn.batch(vec![replace, done, touch]).await?;
        let now_stored = "SELECT id FROM scenes WHERE story_id = ?1 AND sequence = ?2";
        let stored =
            query_one(&conn, now_stored, libsql::params![story.as_str(), at], |r| Ok(r.get::<String>(0)?)).await?;
        // Gone, or the redo was no longer waiting, or the fence refused it (nothing was
        // replaced): nothing to announce.
        if stored.is_none_or(|stored| stored == old_id && old_id != scene.scene_id.to_string()) {
            if self.refused_by_fence(&conn, owned.owner, fence.as_ref()).await? {
                return Err(DbError::Fenced);
            }
            return Ok(None);
        }
        Ok(Some(super::stories::unreferenced(&conn, old_keys.into_iter().flatten()).await?))
    }

    /// `redo` is over without a new page: the old one stays.
    pub async fn give_up_redo(&self, owned: OwnedStory, redo: &Redo) -> DbResult<()> {
        let fence = self.fence_for(owned.owner)?;
        let [holder, epoch] = values(fence.as_ref());
        let update = Sql::new(
            format!(
                "UPDATE scene_redos SET finished_at = ?4, outcome = 'kept' WHERE id = ?5 AND finished_at IS NULL AND {}",
                condition(1)
            ),
            libsql::params![owned.owner.to_string(), holder, epoch, now_text(), redo.id.as_str()],
        )?;
        let conn = self.writer().await;
        if conn.write(update).await? == 0 && self.refused_by_fence(&conn, owned.owner, fence.as_ref()).await? {
            return Err(DbError::Fenced);
        }
        Ok(())
    }
}

/// The redos of story `id` waiting to be done, oldest first, on `conn`.
pub(super) async fn waiting(conn: &Connection, id: StoryId) -> DbResult<Vec<Redo>> {
    query_all(
        conn,
        "SELECT id, sequence, hint, take FROM scene_redos WHERE story_id = ?1 AND finished_at IS NULL
         ORDER BY requested_at, id",
        [id.to_string()],
        |r| {
            Ok(Redo {
                id: r.get(0)?,
                sequence: u32::try_from(r.get::<i64>(1)?).map_err(|e| DbError::corrupt("redo sequence", e))?,
                hint: r.get(2)?,
                take: u32::try_from(r.get::<i64>(3)?).map_err(|e| DbError::corrupt("redo take", e))?,
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{temp_db, users};
    use actors::model::{SceneId, SpecLimits, SpecRequest, Stage, StorySpec};
    use actors::ports::{Creation, Progress, StoryStore};

    fn scene(sequence: u32, image: &str) -> Scene {
        Scene {
            scene_id: SceneId::new(),
            sequence,
            title: format!("Page {sequence}"),
            text: "Once upon a time.".into(),
            image_key: Some(image.into()),
            audio_key: None,
            written_by: Some(Writer::Offline),
        }
    }

    /// A completed story of two scenes whose pictures are `a.png` and `b.png`.
    async fn finished(db: &Db) -> OwnedStory {
        let user = users(db, 1).await[0];
        let request = SpecRequest { prompt: "a fox".into(), num_scenes: Some(2), ..SpecRequest::default() };
        let spec = StorySpec::new(request, &SpecLimits::default()).expect("a valid story");
        let Creation::Created(id) = db.create_story(user, &spec, None, None).await.unwrap() else { panic!("created") };
        let story = actors::ports::OwnedStory { id, owner: user };
        for (sequence, image) in [(1, "a.png"), (2, "b.png")] {
            db.save_scene(story, &scene(sequence, image)).await.unwrap();
        }
        let done = Progress { status: StoryStatus::Completed, stage: Stage::Done, error: None };
        db.set_progress(story, &done).await.unwrap();
        story
    }

    #[tokio::test]
    async fn a_redo_is_queued_once_per_page_within_the_days_limit_and_numbered() {
        let (_dir, db) = temp_db(1).await;
        let story = finished(&db).await;
        let id = story.id;
        assert_eq!(db.request_redo(id, 3, None, 3).await.unwrap(), RedoRequest::NoSuchScene);
        assert_eq!(db.request_redo(id, 1, Some("bigger"), 3).await.unwrap(), RedoRequest::Queued);
        assert_eq!(db.request_redo(id, 1, None, 3).await.unwrap(), RedoRequest::InProgress);
        assert_eq!(db.request_redo(id, 2, None, 3).await.unwrap(), RedoRequest::Queued);
        let waiting = db.redos_waiting(id).await.unwrap();
        let seen: Vec<(u32, Option<&str>, u32)> =
            waiting.iter().map(|r| (r.sequence, r.hint.as_deref(), r.take)).collect();
        assert_eq!(seen, [(1, Some("bigger"), 1), (2, None, 1)], "oldest first");
        db.give_up_redo(story, &waiting[0]).await.unwrap();
        assert_eq!(db.request_redo(id, 1, None, 3).await.unwrap(), RedoRequest::Queued);
        let waiting_now = db.redos_waiting(id).await.unwrap();
        assert_eq!(waiting_now[1].take, 2, "the page's second redo: {waiting_now:?}");
        db.give_up_redo(story, &waiting[1]).await.unwrap();
        let RedoRequest::Limited { limit: 3, retry_after } = db.request_redo(id, 2, None, 3).await.unwrap() else {
            panic!("three redos in a day")
        };
        assert!(retry_after > Duration::from_secs(86_000), "{retry_after:?}");
    }

    #[tokio::test]
    async fn a_page_is_replaced_once_and_its_unshared_media_are_named() {
        let (_dir, db) = temp_db(1).await;
        let story = finished(&db).await;
        let id = story.id;
        db.request_redo(id, 1, None, 5).await.unwrap();
        let redo = db.redos_waiting(id).await.unwrap().remove(0);
        // The new page shares its picture with page 2: nothing of page 1 is left to delete but a.png.
        let new = scene(1, "b.png");
        assert_eq!(db.replace_scene(story, &redo, &new).await.unwrap(), Some(vec!["a.png".to_owned()]));
        assert_eq!(
            db.replace_scene(story, &redo, &scene(1, "c.png")).await.unwrap(),
            None,
            "done once: a retry changes nothing"
        );
        let (_, scenes) = db.story_with_scenes(id).await.unwrap().unwrap();
        assert_eq!((scenes[0].scene_id, scenes[0].image_key.as_deref()), (new.scene_id, Some("b.png")));
        assert!(db.redos_waiting(id).await.unwrap().is_empty());
        let not_completed = {
            let processing = Progress { status: StoryStatus::Processing, stage: Stage::Writing, error: None };
            let owner = db.story(id).await.unwrap().unwrap().user_id;
            db.set_progress(actors::ports::OwnedStory { id, owner }, &processing).await.unwrap();
            db.request_redo(id, 1, None, 5).await.unwrap()
        };
        assert_eq!(not_completed, RedoRequest::NotCompleted);
    }
}
