//! The libSQL implementation of the core's `ConversationStore` port.

use super::{Db, DbError, now_text, query_all, query_one};
use actors::model::{Draft, UserId};
use actors::ports::{ConversationRecord, ConversationStore, Speaker, StoreError, TurnRecord};
use actors::protocol::RequirementsView;
use async_trait::async_trait;
use libsql::Connection;

/// Turns loaded into a rehydrated conversation.
const RECENT_TURNS: i64 = 20;

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

async fn upsert_draft(conn: &Connection, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO conversations (user_id, conversation_id, draft, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET conversation_id = excluded.conversation_id, draft = excluded.draft,
         updated_at = excluded.updated_at",
        libsql::params![user.to_string(), conversation_id, to_json(draft)?, now_text()],
    )
    .await?;
    Ok(())
}

async fn record(
    db: &Db,
    user: UserId,
    conversation_id: &str,
    turn: &TurnRecord,
    draft: &Draft,
) -> Result<bool, DbError> {
    let conn = db.writer().await;
    let tx = conn.transaction().await?;
    let now = now_text();
    let inserted = tx
        .execute(
            "INSERT OR IGNORE INTO conversation_turns (user_id, conversation_id, speaker, content, client_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            libsql::params![
                user.to_string(),
                conversation_id,
                turn.speaker.as_str(),
                turn.content.as_str(),
                turn.client_id.clone(),
                now.as_str()
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(false); // dropping `tx` rolls back
    }
    if turn.speaker == Speaker::Child {
        // What the child said becomes part of their transcript history, with what was understood.
        tx.execute(
            "INSERT INTO transcripts (id, user_id, text, requirements, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            libsql::params![
                uuid::Uuid::new_v4().to_string(),
                user.to_string(),
                turn.content.as_str(),
                to_json(&RequirementsView::of(draft))?,
                now.as_str()
            ],
        )
        .await?;
    }
    upsert_draft(&tx, user, conversation_id, draft).await?;
    tx.commit().await?;
    Ok(true)
}

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
            .map_err(|e| DbError::Corrupt(format!("conversation draft of user {user}: {e}")))?;
        let mut turns = query_all(
            &conn,
            "SELECT speaker, content, client_id FROM conversation_turns WHERE user_id = ?1 AND conversation_id = ?2
             ORDER BY id DESC LIMIT ?3",
            libsql::params![user.to_string(), conversation_id.as_str(), RECENT_TURNS],
            |r| {
                let speaker = match r.get::<String>(0)?.as_str() {
                    "agent" => Speaker::Agent,
                    "child" => Speaker::Child,
                    other => return Err(DbError::Corrupt(format!("conversation turn speaker `{other}`"))),
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
        Ok(record(self, user, conversation_id, turn, draft).await?)
    }

    async fn save_draft(&self, user: UserId, conversation_id: &str, draft: &Draft) -> Result<(), StoreError> {
        let conn = self.writer().await;
        Ok(upsert_draft(&conn, user, conversation_id, draft).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_corrupt_stored_draft_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 1).await.unwrap();
        let user = db.create_user("ada@example.com", "Ada", "hash").await.unwrap().id;
        db.save_draft(user, "c1", &Draft { setting: Some("forest".into()), ..Draft::default() }).await.unwrap();
        let stored = db.load_conversation(user).await.unwrap().unwrap();
        assert_eq!(stored.draft.setting.as_deref(), Some("forest"));

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
        let error = db.load_conversation(user).await.unwrap_err().to_string();
        assert!(error.contains("draft"), "{error}");
        db.writer()
            .await
            .execute("UPDATE conversations SET draft = '{}' WHERE user_id = ?1", [user.to_string()])
            .await
            .unwrap();
        let error = db.load_conversation(user).await.unwrap_err().to_string();
        assert!(error.contains("speaker `robot`"), "{error}");
    }
}
