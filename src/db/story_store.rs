//! The libSQL implementation of the core's `StoryStore` port.

use super::redos::waiting;
use super::stories::{scenes_of, story_exists, story_row};
use super::{Db, DbError, Sql, now_text, query_all};
use actors::model::{Redo, Scene, StoryId, StoryPlan, StoryState, Writer};
use actors::ports::{Progress, StoreError, StoryStore};
use async_trait::async_trait;

fn found(changed: u64) -> Result<(), StoreError> {
    if changed == 0 { Err(StoreError::not_found()) } else { Ok(()) }
}

#[async_trait]
impl StoryStore for Db {
    async fn load_story(&self, id: StoryId) -> Result<Option<StoryState>, StoreError> {
        let conn = self.reader().await;
        let Some(row) = story_row(&conn, id).await? else {
            return Ok(None);
        };
        let scenes = scenes_of(&conn, id).await?;
        let redos = waiting(&conn, id).await?;
        Ok(Some(StoryState {
            redos,
            story_id: id,
            user_id: row.user_id,
            spec: row.spec,
            status: row.status,
            plan: row.plan,
            planned_by: row.planned_by,
            scenes,
            cover_key: row.cover_key,
        }))
    }

    async fn save_plan(&self, id: StoryId, plan: &StoryPlan, planned_by: Writer) -> Result<(), StoreError> {
        let json = serde_json::to_string(plan).map_err(DbError::from)?;
        let update = Sql::new(
            "UPDATE stories SET plan = ?1, planned_by = ?2, cover_key = NULL, updated_at = ?3 WHERE id = ?4",
            libsql::params![json, planned_by.as_str(), now_text(), id.to_string()],
        )?;
        found(self.writer().await.write(update).await?)
    }

    async fn save_scene(&self, id: StoryId, scene: &Scene) -> Result<(), StoreError> {
        if insert_scene(self, id, scene).await? { Ok(()) } else { Err(StoreError::not_found()) }
    }

    async fn set_progress(&self, id: StoryId, p: &Progress) -> Result<(), StoreError> {
        let update = Sql::new(
            "UPDATE stories SET status = ?1, stage = ?2, error = ?3, updated_at = ?4 WHERE id = ?5",
            libsql::params![p.status.as_str(), p.stage.as_str(), p.error.clone(), now_text(), id.to_string()],
        )?;
        found(self.writer().await.write(update).await?)
    }

    async fn save_cover(&self, id: StoryId, key: &str) -> Result<(), StoreError> {
        let update = Sql::new(
            "UPDATE stories SET cover_key = ?1, updated_at = ?2 WHERE id = ?3",
            libsql::params![key, now_text(), id.to_string()],
        )?;
        found(self.writer().await.write(update).await?)
    }

    async fn replace_scene(&self, id: StoryId, redo: &Redo, scene: &Scene) -> Result<Vec<String>, StoreError> {
        Db::replace_scene(self, id, redo, scene).await?.ok_or_else(StoreError::not_found)
    }

    async fn give_up_redo(&self, _: StoryId, redo: &Redo) -> Result<(), StoreError> {
        Ok(Db::give_up_redo(self, redo).await?)
    }

    async fn unfinished_stories(&self) -> Result<Vec<StoryId>, StoreError> {
        let conn = self.reader().await;
        let ids = query_all(
            &conn,
            "SELECT id FROM stories WHERE status IN ('pending', 'processing')
                OR id IN (SELECT story_id FROM scene_redos WHERE finished_at IS NULL) ORDER BY created_at",
            (),
            |r| super::parse(&r.get::<String>(0)?, "story id"),
        )
        .await?;
        Ok(ids)
    }
}

/// Unfinished stories in one stage: how many, and the seconds since the least recently
/// touched of them last made progress (a stage, plan, scene or cover stored).
#[derive(Clone, Debug, PartialEq)]
pub struct UnfinishedStage {
    pub stage: String,
    pub stories: i64,
    pub stalled_secs: f64,
}

impl Db {
    /// The stories still pending or being written, by stage (for the stuck-story alert).
    pub async fn unfinished_by_stage(&self) -> Result<Vec<UnfinishedStage>, DbError> {
        let conn = self.reader().await;
        query_all(
            &conn,
            "SELECT stage, count(*), (julianday('now') - julianday(min(updated_at))) * 86400.0
             FROM stories WHERE status IN ('pending', 'processing') GROUP BY stage",
            (),
            |r| Ok(UnfinishedStage { stage: r.get(0)?, stories: r.get(1)?, stalled_secs: r.get::<f64>(2)?.max(0.0) }),
        )
        .await
    }
}

/// Insert a scene and touch its story in one transaction; whether the story is still there.
async fn insert_scene(db: &Db, id: StoryId, scene: &Scene) -> Result<bool, DbError> {
    let now = now_text();
    // Only for a story that still exists; a sequence already saved is kept as it was (so a
    // retry of a write that reached a replica's primary changes nothing).
    let insert = Sql::new(
        "INSERT INTO scenes (id, story_id, sequence, title, text, image_key, audio_key, created_at, written_by)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM stories WHERE id = ?2)
             ON CONFLICT (story_id, sequence) DO NOTHING",
        libsql::params![
            scene.scene_id.to_string(),
            id.to_string(),
            i64::from(scene.sequence),
            scene.title.as_str(),
            scene.text.as_str(),
            scene.image_key.clone(),
            scene.audio_key.clone(),
            now.as_str(),
            scene.written_by.map(Writer::as_str)
        ],
    )?;
    let touch = Sql::new("UPDATE stories SET updated_at = ?1 WHERE id = ?2", libsql::params![now, id.to_string()])?;
    let conn = db.writer().await;
    conn.batch(vec![insert, touch]).await?;
    story_exists(&conn, id).await
}
