//! Conversation transcripts: what the child said, with the requirements understood from it.
//! What is said over the WebSocket is the child's conversation turn (one row, see
//! `turn_batch`); what the app posts itself (recorded offline, say) is kept here.

use super::{Db, DbError, DbResult, Sql, now_text, query_all};
use actors::model::UserId;

#[derive(Clone, Debug)]
pub struct Transcript {
    pub id: String,
    pub text: String,
    pub requirements: Option<serde_json::Value>,
    pub created_at: String,
}

impl Db {
    pub async fn add_transcript(
        &self,
        user: UserId,
        text: &str,
        requirements: Option<&serde_json::Value>,
    ) -> DbResult<Transcript> {
        let transcript = Transcript {
            id: uuid::Uuid::now_v7().to_string(),
            text: text.to_owned(),
            requirements: requirements.cloned(),
            created_at: now_text(),
        };
        let json = requirements.map(serde_json::Value::to_string);
        // The id is chosen here: a write repeated after reaching a replica's primary stores it once.
        let insert = Sql::new(
            "INSERT INTO transcripts (id, user_id, text, requirements, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
            libsql::params![transcript.id.as_str(), user.to_string(), text, json, transcript.created_at.as_str()],
        )?;
        self.writer().await.write(insert).await?;
        Ok(transcript)
    }

    /// The user's latest transcripts, newest first: their turns in conversations and what the
    /// app posted, each side read newest first from its own index, at most `limit` of each.
    pub async fn transcripts(&self, user: UserId, limit: u32) -> DbResult<Vec<Transcript>> {
        let conn = self.reader().await;
        query_all(
            &conn,
            "SELECT id, text, requirements, created_at FROM (
                 SELECT * FROM (
                     SELECT transcript_id AS id, content AS text, requirements, created_at, 0 AS posted,
                            conversation_turns.id AS n
                     FROM conversation_turns WHERE user_id = ?1 AND speaker = 'child'
                     ORDER BY conversation_turns.id DESC LIMIT ?2)
                 UNION ALL
                 SELECT * FROM (
                     SELECT id, text, requirements, created_at, 1 AS posted, rowid AS n
                     FROM transcripts WHERE user_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2))
             ORDER BY created_at DESC, posted DESC, n DESC LIMIT ?2",
            libsql::params![user.to_string(), i64::from(limit)],
            |r| {
                let requirements = r
                    .get::<Option<String>>(2)?
                    .map(|j| serde_json::from_str(&j).map_err(|e| DbError::corrupt("transcript requirements", e)))
                    .transpose()?;
                Ok(Transcript { id: r.get(0)?, text: r.get(1)?, requirements, created_at: r.get(3)? })
            },
        )
        .await
    }
}
