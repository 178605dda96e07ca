//! The libSQL implementation of the core's `StoryStore` port. Every write is of the owner's
//! live state: fenced by this process's claim on their home (see `fence`).

use super::fence::{condition, values};
use super::redos::waiting;
use super::stories::{scenes_of, story_exists, story_row};
use super::{Db, DbError, Fence, Sql, now_text, query_all};
use actors::model::{Redo, Scene, StoryId, StoryPlan, StoryState, Writer};
use actors::ports::{OwnedStory, Progress, StoreError, StoryStore};
use async_trait::async_trait;

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

    async fn save_plan(&self, story: OwnedStory, plan: &StoryPlan, planned_by: Writer) -> Result<(), StoreError> {
        let json = serde_json::to_string(plan).map_err(DbError::from)?;
        let set = "plan = ?5, planned_by = ?6, cover_key = NULL";
        update_story(self, story, set, vec![json.into(), planned_by.as_str().into()]).await
    }

    async fn save_scene(&self, story: OwnedStory, scene: &Scene) -> Result<(), StoreError> {
        insert_scene(self, story, scene).await
    }

    async fn set_progress(&self, story: OwnedStory, p: &Progress) -> Result<(), StoreError> {
        let set = "status = ?5, stage = ?6, error = ?7";
        let values = vec![p.status.as_str().into(), p.stage.as_str().into(), p.error.clone().into()];
        update_story(self, story, set, values).await
    }

    async fn save_cover(&self, story: OwnedStory, key: &str) -> Result<(), StoreError> {
        update_story(self, story, "cover_key = ?5", vec![key.into()]).await
    }

    async fn replace_scene(&self, story: OwnedStory, redo: &Redo, scene: &Scene) -> Result<Vec<String>, StoreError> {
        Db::replace_scene(self, story, redo, scene).await?.ok_or_else(StoreError::not_found)
    }

    async fn give_up_redo(&self, story: OwnedStory, redo: &Redo) -> Result<(), StoreError> {
        Ok(Db::give_up_redo(self, story, redo).await?)
    }
}

/// `UPDATE stories SET {set}` (its values from `?5` on) for `story`, fenced; refused when the
/// fence says no, not found when the story is gone.
async fn update_story(db: &Db, story: OwnedStory, set: &str, set_values: Vec<libsql::Value>) -> Result<(), StoreError> {
    let fence = db.fence_for(story.owner)?;
    let [holder, epoch] = values(fence.as_ref());
    let mut all = vec![story.owner.to_string().into(), holder, epoch, story.id.to_string().into()];
    all.extend(set_values);
    all.push(now_text().into());
    let at_now = all.len();
    let update = Sql {
        text: format!("UPDATE stories SET {set}, updated_at = ?{at_now} WHERE id = ?4 AND {}", condition(1)).into(),
        values: all,
    };
    let conn = db.writer().await;
    if conn.write(update).await? > 0 {
        return Ok(());
    }
    Err(if db.refused_by_fence(&conn, story.owner, fence.as_ref()).await? {
        StoreError::fenced()
    } else {
        StoreError::not_found()
    })
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

/// Insert a scene and touch its story in one transaction, fenced; refused when the fence says
/// no, not found when the story is gone.
async fn insert_scene(db: &Db, story: OwnedStory, scene: &Scene) -> Result<(), StoreError> {
    let fence: Option<Fence> = db.fence_for(story.owner)?;
    let [holder, epoch] = values(fence.as_ref());
    let now = now_text();
    // Only for a story that still exists; a sequence already saved is kept as it was (so a
    // retry of a write that reached a replica's primary changes nothing).
    let insert = Sql::new(
        format!(
            "INSERT INTO scenes (id, story_id, sequence, title, text, image_key, audio_key, created_at, written_by)
             SELECT ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 WHERE EXISTS (SELECT 1 FROM stories WHERE id = ?5) AND {}
             ON CONFLICT (story_id, sequence) DO NOTHING",
            condition(1)
        ),
        libsql::params![
            story.owner.to_string(),
            holder.clone(),
            epoch.clone(),
            scene.scene_id.to_string(),
            story.id.to_string(),
            i64::from(scene.sequence),
            scene.title.as_str(),
            scene.text.as_str(),
            scene.image_key.clone(),
            scene.audio_key.clone(),
            now.as_str(),
            scene.written_by.map(Writer::as_str)
        ],
    )?;
    let touch = Sql::new(
        format!("UPDATE stories SET updated_at = ?4 WHERE id = ?5 AND {}", condition(1)),
        libsql::params![story.owner.to_string(), holder, epoch, now, story.id.to_string()],
    )?;
    let conn = db.writer().await;
    conn.batch(vec![insert, touch]).await?;
    // A batch tells no row counts: whether it went through is read back.
    if !story_exists(&conn, story.id).await? {
        return Err(StoreError::not_found());
    }
    if db.refused_by_fence(&conn, story.owner, fence.as_ref()).await? {
        return Err(StoreError::fenced());
    }
    Ok(())
}
