//! Stories and scenes: creation (idempotent), detail, status, listing, deletion, retry.

use super::{Db, DbError, DbResult, Sql, now_text, parse, query_all, query_one};
use actors::model::{
    Age, Language, Scene, SceneCount, Stage, StoryCast, StoryId, StoryPlan, StorySpec, StoryStatus, UserId, Writer,
};
use actors::ports::{Creation, Idempotency, InFlightCaps, Reset};
use libsql::{Connection, Row};

/// One story row, without scenes.
#[derive(Clone, Debug)]
pub struct StoryRow {
    pub id: StoryId,
    pub user_id: UserId,
    pub spec: StorySpec,
    pub status: StoryStatus,
    pub stage: Stage,
    pub error: Option<String>,
    pub plan: Option<StoryPlan>,
    /// Who wrote the plan; `None` before planning or when not recorded.
    pub planned_by: Option<Writer>,
    pub cover_key: Option<String>,
    pub scenes_done: u32,
    pub created_at: String,
    pub updated_at: String,
}

impl StoryRow {
    /// The requested title, else the storyteller's, else empty while planning.
    pub fn title(&self) -> String {
        self.spec.title.clone().or_else(|| self.plan.as_ref().map(|p| p.title.clone())).unwrap_or_default()
    }
}

const STORY_COLUMNS: &str = "s.id, s.user_id, s.title, s.prompt, s.style, s.num_scenes, s.age, s.language, s.status, \
     s.stage, s.error, s.plan, s.cover_key, s.created_at, s.updated_at, \
     (SELECT COUNT(*) FROM scenes c WHERE c.story_id = s.id), s.planned_by, s.story_cast";

fn story_from_row(row: &Row) -> DbResult<StoryRow> {
    let plan = row
        .get::<Option<String>>(11)?
        .map(|json| serde_json::from_str(&json).map_err(|e| DbError::corrupt("story plan", e)))
        .transpose()?;
    let prompt: String = row.get(3)?;
    let cast = match row.get::<Option<String>>(17)? {
        Some(json) => serde_json::from_str(&json).map_err(|e| DbError::corrupt("story cast", e))?,
        // Stored before stories kept their cast: read once more from the prompt, as it was then.
        None => cast_of_prompt(&prompt),
    };
    Ok(StoryRow {
        id: parse(&row.get::<String>(0)?, "story id")?,
        user_id: parse(&row.get::<String>(1)?, "user id")?,
        spec: StorySpec {
            title: row.get(2)?,
            prompt,
            cast,
            style: parse(&row.get::<String>(4)?, "style")?,
            num_scenes: SceneCount::new(row.get::<i64>(5)?).map_err(|e| DbError::corrupt("scene count", e))?,
            // Conversations once passed any age through: the nearest one in range.
            age: Age::saturating(row.get::<i64>(6)?),
            language: Language::parse(&row.get::<String>(7)?).map_err(|e| DbError::corrupt("language", e))?,
        },
        status: parse(&row.get::<String>(8)?, "status")?,
        stage: parse(&row.get::<String>(9)?, "stage")?,
        error: row.get(10)?,
        plan,
        cover_key: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        scenes_done: u32::try_from(row.get::<i64>(15)?).map_err(|e| DbError::corrupt("scenes done", e))?,
        planned_by: writer(row.get(16)?)?,
    })
}

fn writer(stored: Option<String>) -> DbResult<Option<Writer>> {
    stored.map(|w| parse(&w, "writer")).transpose()
}

fn cast_of_prompt(prompt: &str) -> StoryCast {
    actors::requirements::extract(prompt).cast()
}

fn scene_from_row(row: &Row) -> DbResult<Scene> {
    Ok(Scene {
        scene_id: parse(&row.get::<String>(0)?, "scene id")?,
        sequence: u32::try_from(row.get::<i64>(1)?).map_err(|e| DbError::corrupt("scene sequence", e))?,
        title: row.get(2)?,
        text: row.get(3)?,
        image_key: row.get(4)?,
        audio_key: row.get(5)?,
        written_by: writer(row.get(6)?)?,
    })
}

/// A new story, unless its idempotency key (`?10`, when not NULL) was used before or the
/// stories in flight reach the caps (`?11` for the user, `?12` in all, when not NULL).
const CREATE_STORY: &str = "INSERT INTO stories
     (id, user_id, title, prompt, style, num_scenes, age, language, story_cast, status, stage, created_at, updated_at)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?13, 'pending', 'queued', ?9, ?9
     WHERE (?10 IS NULL OR NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE user_id = ?2 AND key = ?10))
     AND (?11 IS NULL OR (SELECT count(*) FROM stories WHERE status IN ('pending', 'processing') AND user_id = ?2) < ?11)
     AND (?12 IS NULL OR (SELECT count(*) FROM stories WHERE status IN ('pending', 'processing')) < ?12)";

/// A page of a user's stories, newest first.
pub struct StoryPage {
    pub stories: Vec<StoryRow>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next: Option<(String, StoryId)>,
}

impl Db {
    /// Create a pending story. With an idempotency key, a repeat of the same key and request
    /// returns the first story instead of creating another one. Decided in the write itself
    /// (on a replica's primary, where every machine's creations meet): the story is inserted
    /// only when its key is new and `caps` allow it; what happened is read back afterwards.
    pub async fn create_story(
        &self,
        user: UserId,
        spec: &StorySpec,
        idempotency: Option<Idempotency<'_>>,
        caps: Option<InFlightCaps>,
    ) -> DbResult<Creation> {
        let id = StoryId::new();
        let now = now_text();
        let cast_json = serde_json::to_string(&spec.cast).map_err(|e| DbError::corrupt("story cast", e))?;
        let mut statements = vec![Sql::new(
            CREATE_STORY,
            libsql::params![
                id.to_string(),
                user.to_string(),
                spec.title.clone(),
                spec.prompt.as_str(),
                spec.style.as_str(),
                i64::from(spec.num_scenes),
                i64::from(spec.age),
                spec.language.as_str(),
                now.as_str(),
                idempotency.map(|i| i.key.to_owned()),
                caps.map(|c| i64::from(c.per_user)),
                caps.map(|c| i64::from(c.total)),
                cast_json
            ],
        )?];
        if let Some(Idempotency { key, fingerprint }) = idempotency {
            statements.push(Sql::new(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, story_id, created_at)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM stories WHERE id = ?4)",
                libsql::params![user.to_string(), key, fingerprint, id.to_string(), now.as_str()],
            )?);
        }
        let conn = self.writer().await;
        conn.batch(statements).await?;
        if story_exists(&conn, id).await? {
            return Ok(Creation::Created(id));
        }
        if let Some(Idempotency { key, fingerprint }) = idempotency {
            let seen = query_one(
                &conn,
                "SELECT request_hash, story_id FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
                [user.to_string(), key.to_owned()],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
            )
            .await?;
            if let Some((seen_hash, story)) = seen {
                return Ok(if seen_hash == fingerprint {
                    Creation::Replayed(parse(&story, "story id")?)
                } else {
                    Creation::KeyReused
                });
            }
        }
        // Not created, and not for its key: the caps said no (a story finishing meanwhile
        // may have made room again; then this one still counts as over them).
        let counts = in_flight(&conn, user).await?;
        Ok(match caps {
            Some(caps) if counts.0 >= i64::from(caps.per_user) => Creation::UserBusy { limit: caps.per_user },
            _ => Creation::ServiceBusy,
        })
    }

    pub async fn story(&self, id: StoryId) -> DbResult<Option<StoryRow>> {
        let conn = self.reader().await;
        story_row(&conn, id).await
    }

    /// A story and its scenes, read consistently on one connection.
    pub async fn story_with_scenes(&self, id: StoryId) -> DbResult<Option<(StoryRow, Vec<Scene>)>> {
        let conn = self.reader().await;
        let Some(story) = story_row(&conn, id).await? else {
            return Ok(None);
        };
        let scenes = scenes_of(&conn, id).await?;
        Ok(Some((story, scenes)))
    }

    pub async fn list_stories(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<(String, StoryId)>,
    ) -> DbResult<StoryPage> {
        let conn = self.reader().await;
        let (after_time, after_id) = cursor.map_or((None, None), |(t, id)| (Some(t), Some(id.to_string())));
        let mut stories = query_all(
            &conn,
            &format!(
                "SELECT {STORY_COLUMNS} FROM stories s WHERE s.user_id = ?1
                 AND (?2 IS NULL OR s.created_at < ?2 OR (s.created_at = ?2 AND s.id < ?3))
                 ORDER BY s.created_at DESC, s.id DESC LIMIT ?4"
            ),
            libsql::params![user.to_string(), after_time, after_id, i64::from(limit) + 1],
            story_from_row,
        )
        .await?;
        let next = if stories.len() > limit as usize {
            stories.truncate(limit as usize);
            stories.last().map(|s| (s.created_at.clone(), s.id))
        } else {
            None
        };
        Ok(StoryPage { stories, next })
    }

    /// Delete a story with its scenes. Returns the media keys that no other story uses any
    /// more (the caller deletes those files), or `None` when there was no such story.
    pub async fn delete_story(&self, id: StoryId) -> DbResult<Option<Vec<String>>> {
        let conn = self.writer().await;
        let keys = query_all(
            &conn,
            "SELECT image_key FROM scenes WHERE story_id = ?1 AND image_key IS NOT NULL
             UNION SELECT audio_key FROM scenes WHERE story_id = ?1 AND audio_key IS NOT NULL
             UNION SELECT cover_key FROM stories WHERE id = ?1 AND cover_key IS NOT NULL",
            [id.to_string()],
            |r| Ok(r.get::<String>(0)?),
        )
        .await?;
        // Scenes go with their story (ON DELETE CASCADE).
        if conn.write(Sql::new("DELETE FROM stories WHERE id = ?1", libsql::params![id.to_string()])?).await? == 0 {
            return Ok(None);
        }
        Ok(Some(unreferenced(&conn, keys).await?))
    }

    /// Put a failed story back in the queue, within `caps` (decided in the update itself).
    pub async fn reset_failed_story(&self, id: StoryId, caps: InFlightCaps) -> DbResult<Reset> {
        let conn = self.writer().await;
        let reset = Sql::new(
            "UPDATE stories SET status = 'pending', stage = 'queued', error = NULL, updated_at = ?1
             WHERE id = ?2 AND status = 'failed'
             AND (SELECT count(*) FROM stories s WHERE s.status IN ('pending', 'processing') AND s.user_id = stories.user_id) < ?3
             AND (SELECT count(*) FROM stories s WHERE s.status IN ('pending', 'processing')) < ?4",
            libsql::params![now_text(), id.to_string(), i64::from(caps.per_user), i64::from(caps.total)],
        )?;
        if conn.write(reset).await? > 0 {
            return Ok(Reset::Reset);
        }
        let owner = query_one(
            &conn,
            "SELECT user_id FROM stories WHERE id = ?1 AND status = 'failed'",
            [id.to_string()],
            |r| parse::<UserId>(&r.get::<String>(0)?, "user id"),
        )
        .await?;
        let Some(owner) = owner else { return Ok(Reset::NotFailed) };
        let counts = in_flight(&conn, owner).await?;
        Ok(if counts.0 >= i64::from(caps.per_user) {
            Reset::UserBusy { limit: caps.per_user }
        } else {
            Reset::ServiceBusy
        })
    }
}

impl Db {
    /// Every media key a story or scene refers to.
    pub async fn referenced_media(&self) -> DbResult<std::collections::HashSet<String>> {
        let conn = self.reader().await;
        let keys = query_all(
            &conn,
            "SELECT image_key FROM scenes WHERE image_key IS NOT NULL
             UNION SELECT audio_key FROM scenes WHERE audio_key IS NOT NULL
             UNION SELECT cover_key FROM stories WHERE cover_key IS NOT NULL",
            (),
            |r| Ok(r.get::<String>(0)?),
        )
        .await?;
        Ok(keys.into_iter().collect())
    }
}

/// Of `keys`, each once, those no scene and no cover refers to any more: content addresses can
/// be shared between stories, so a file is deleted only when nothing else uses it.
pub(super) async fn unreferenced(conn: &Connection, keys: impl IntoIterator<Item = String>) -> DbResult<Vec<String>> {
    let mut orphans = Vec::new();
    for key in keys {
        let used = query_one(
            conn,
            "SELECT 1 FROM scenes WHERE image_key = ?1 OR audio_key = ?1 UNION SELECT 1 FROM stories WHERE cover_key = ?1 LIMIT 1",
            [key.as_str()],
            |_| Ok(()),
        )
        .await?;
        if used.is_none() && !orphans.contains(&key) {
            orphans.push(key);
        }
    }
    Ok(orphans)
}

/// Stories pending or being written: the user's, and everyone's.
async fn in_flight(conn: &Connection, user: UserId) -> DbResult<(i64, i64)> {
    Ok(query_one(
        conn,
        "SELECT coalesce(sum(user_id = ?1), 0), count(*) FROM stories WHERE status IN ('pending', 'processing')",
        [user.to_string()],
        |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
    )
    .await?
    .unwrap_or((0, 0)))
}

pub(super) async fn story_exists(conn: &Connection, id: StoryId) -> DbResult<bool> {
    Ok(query_one(conn, "SELECT 1 FROM stories WHERE id = ?1", [id.to_string()], |_| Ok(())).await?.is_some())
}

pub(super) async fn story_row(conn: &Connection, id: StoryId) -> DbResult<Option<StoryRow>> {
    query_one(conn, &format!("SELECT {STORY_COLUMNS} FROM stories s WHERE s.id = ?1"), [id.to_string()], story_from_row)
        .await
}

pub(super) async fn scenes_of(conn: &Connection, id: StoryId) -> DbResult<Vec<Scene>> {
    query_all(
        conn,
        "SELECT id, sequence, title, text, image_key, audio_key, written_by FROM scenes WHERE story_id = ?1 ORDER BY sequence",
        [id.to_string()],
        scene_from_row,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::model::{Place, Setting, SpecLimits};

    #[tokio::test]
    async fn a_story_keeps_its_cast_and_one_stored_before_casts_are_read_from_its_prompt() {
        let (_dir, db) = crate::db::testing::temp_db(1).await;
        let user = crate::db::testing::users(&db, 1).await[0];
        let mut request = actors::requirements::request_from("a fox called Ruby in the forest");
        request.cast.hero.name = Some("Juniper".into());
        let spec = StorySpec::new(request, &SpecLimits::default()).unwrap();
        let Creation::Created(id) = db.create_story(user, &spec, None, None).await.unwrap() else { panic!() };
        let stored = db.story(id).await.unwrap().unwrap();
        assert_eq!(stored.spec.cast, spec.cast, "the cast as asked, not the prompt read again");
        assert_eq!(stored.spec.cast.hero.name.as_deref(), Some("Juniper"));

        db.writer().await.execute("UPDATE stories SET story_cast = NULL, age = 40", ()).await.unwrap();
        let old = db.story(id).await.unwrap().unwrap();
        assert_eq!(old.spec.cast.hero.name.as_deref(), Some("Ruby"), "read from the prompt");
        assert_eq!(old.spec.cast.place, Some(Place::Known(Setting::Forest)));
        assert_eq!(old.spec.age.get(), 12, "an age stored out of range reads as the nearest one");
    }
}
