//! The libSQL implementation of the core's `ConversationStore` port.

use super::turn_batch::{Job, Work};
use super::{Db, DbError, query_all, query_one};
use actors::model::{Draft, UserId};
use actors::ports::{ConversationRecord, ConversationStore, RECENT_TURNS, Speaker, StoreError, TurnRecord};
use async_trait::async_trait;
use tokio::sync::oneshot;

#[async_trait]
impl ConversationStore for Db {
    async fn load_conversation(&self, user: UserId) -> Result<Option<ConversationRecord>, StoreError> {
        let conn = self.reader().await;
        let head = query_one(
            &conn,
            "SELECT conversation_id, draft FROM conversations WHERE user_id = ?1",
            [user.to_string()],
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
        )
        .await?;
        let Some((conversation_id, draft)) = head else { return Ok(None) };
        // Corrupt is an error, like every other bad row: replacing it silently would lose the
        // child's story without anyone knowing.
        let draft: Draft = serde_json::from_str(&draft)
            .map_err(|e| DbError::corrupt(format!("conversation draft of user {user}"), e))?;
        let mut turns = query_all(
            &conn,
            // A user's latest turns are their current conversation's (a new conversation only
            // ever follows the old one), so the latest few, of this conversation, are enough.
            "SELECT speaker, content, client_id FROM (
                 SELECT id, speaker, content, client_id, conversation_id FROM conversation_turns
                 WHERE user_id = ?1 ORDER BY id DESC LIMIT ?3)
             WHERE conversation_id = ?2 ORDER BY id DESC",
            libsql::params![user.to_string(), conversation_id.as_str(), RECENT_TURNS as i64],
            |r| {
                let speaker = match r.get::<String>(0)?.as_str() {
                    "agent" => Speaker::Agent,
                    "child" => Speaker::Child,
                    other => {
                        let what = format!("conversation turn speaker `{other}`");
                        return Err(DbError::Corrupt { what, source: None });
                    }
                };
                Ok(TurnRecord { speaker, content: r.get(1)?, client_id: r.get(2)? })
            },
        )
        .await?;
        turns.reverse();
        Ok(Some(ConversationRecord { conversation_id, draft, turns }))
    }

    async fn record_turn(
        &self,
        user: UserId,
        conversation_id: &str,
        turn: &TurnRecord,
        draft: &Draft,
    ) -> Result<bool, StoreError> {
        self.write_and_wait(user, conversation_id, Work::Turn(turn.clone()), draft).await
    }

    fn record_turn_soon(&self, user: UserId, conversation_id: &str, turn: &TurnRecord) {
        let fence = match self.fence_for(user) {
            Ok(fence) => fence,
            Err(e) => {
                tracing::warn!(%user, error = %e, "a conversation turn was not saved");
                return;
            }
        };
        let work = Work::Turn(turn.clone());
        let conversation_id = conversation_id.to_owned();
        self.queue_write(Job { user, conversation_id, work, draft: None, fence, done: None });
    }

    async fn record_understanding(&self, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), StoreError> {
        // In the same group commits as the turns: it follows the child's turn it belongs to.
        self.write_and_wait(user, conversation_id, Work::Understanding, draft).await.map(drop)
    }

    async fn save_draft(&self, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), StoreError> {
        self.write_and_wait(user, conversation_id, Work::Draft, draft).await.map(drop)
    }
}

impl Db {
    /// Queue `work` for the turn writer and wait until it is committed.
    async fn write_and_wait(
        &self,
        user: UserId,
        conversation_id: &str,
        work: Work,
        draft: &Draft,
    ) -> Result<bool, StoreError> {
        let fence = self.fence_for(user)?;
        let (done, written) = oneshot::channel();
        let conversation_id = conversation_id.to_owned();
        self.queue_write(Job { user, conversation_id, work, draft: Some(draft.clone()), fence, done: Some(done) });
        Ok(written.await.unwrap_or(Err(DbError::WriterGone))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::ports::StoreErrorKind;

    #[tokio::test]
    async fn a_corrupt_stored_draft_is_an_error_not_a_fresh_start() {
        let (_dir, db) = crate::db::testing::temp_db(1).await;
        let user = db.create_user("ada@example.com", "Ada", "hash").await.unwrap().id;
        let draft = Draft { setting: Some(actors::model::Setting::Forest.into()), ..Draft::default() };
        db.save_draft(user, "c1", &draft).await.unwrap();
        let stored = db.load_conversation(user).await.unwrap().unwrap();
        assert_eq!(stored.draft.place(), Some("forest"));

        let conn = db.writer().await;
        conn.execute("UPDATE conversations SET draft = '{not json' WHERE user_id = ?1", [user.to_string()])
            .await
            .unwrap();
        conn.execute(
            "INSERT INTO conversation_turns (user_id, conversation_id, speaker, content, created_at)
             VALUES (?1, 'c1', 'robot', 'hi', '2026-01-01')",
            [user.to_string()],
        )
        .await
        .unwrap();
        drop(conn);
        let corrupt = |error: StoreError| {
            assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error:?}");
            match std::error::Error::source(&error).and_then(|e| e.downcast_ref::<DbError>()) {
                Some(DbError::Corrupt { source, .. }) => source.as_ref().is_some_and(|s| s.is::<serde_json::Error>()),
                other => panic!("{other:?}"),
            }
        };
        assert!(corrupt(db.load_conversation(user).await.unwrap_err()), "the draft's JSON is the cause");
        db.writer()
            .await
            .execute("UPDATE conversations SET draft = '{}' WHERE user_id = ?1", [user.to_string()])
            .await
            .unwrap();
        assert!(!corrupt(db.load_conversation(user).await.unwrap_err()), "the speaker is, not JSON");
    }
}
