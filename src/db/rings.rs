//! The libSQL implementation of the core's `RingStore` port: one row per user holding the event
//! ring a conversation kept when it stopped, deleted when the next one takes it back. Both are
//! the user's live state: fenced by this process's claim on their home.

use super::fence::{condition, values};
use super::{Db, DbError, Sql, now_text};
use actors::model::UserId;
use actors::ports::{KeptRing, RingStore, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// A sequence number as SQLite stores it (they start from the clock in microseconds: far
/// below `i64::MAX`).
fn stored(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn loaded(value: i64, what: &str) -> Result<u64, DbError> {
    u64::try_from(value).map_err(|e| DbError::corrupt(format!("conversation ring {what}"), e))
}

#[async_trait]
impl RingStore for Db {
    async fn keep_ring(&self, user: UserId, ring: &KeptRing) -> Result<(), StoreError> {
        let events: Vec<(u64, &str)> = ring.events.iter().map(|(seq, frame)| (*seq, &**frame)).collect();
        let events = serde_json::to_string(&events).map_err(DbError::Encode)?;
        let fence = self.fence_for(user)?;
        let [holder, epoch] = values(fence.as_ref());
        let keep = Sql::new(
            format!(
                "INSERT INTO conversation_rings (user_id, complete_after, last_seq, events, kept_at)
                 SELECT ?1, ?4, ?5, ?6, ?7 WHERE {}
                 ON CONFLICT (user_id) DO UPDATE SET complete_after = excluded.complete_after,
                     last_seq = excluded.last_seq, events = excluded.events, kept_at = excluded.kept_at",
                condition(1)
            ),
            libsql::params![
                user.to_string(),
                holder,
                epoch,
                stored(ring.complete_after),
                stored(ring.last_seq),
                events,
                now_text()
            ],
        )?;
        let conn = self.writer().await;
        if conn.write(keep).await? == 0 && self.refused_by_fence(&conn, user, fence.as_ref()).await? {
            return Err(StoreError::fenced());
        }
        Ok(())
    }

    async fn take_ring(&self, user: UserId) -> Result<Option<KeptRing>, StoreError> {
        // One statement: the ring is handed out and gone together, or neither (and only to
        // the user's home).
        let fence = self.fence_for(user)?;
        let [holder, epoch] = values(fence.as_ref());
        let take = Sql::new(
            format!(
                "DELETE FROM conversation_rings WHERE user_id = ?1 AND {} RETURNING complete_after, last_seq, events",
                condition(1)
            ),
            libsql::params![user.to_string(), holder, epoch],
        )?;
        let conn = self.writer().await;
        let rows =
            conn.write_returning(take, |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?))).await?;
        let Some((complete_after, last_seq, events)) = rows.into_iter().next() else {
            // Nothing kept, or nothing handed out: the ring waits for the user's real home.
            if self.refused_by_fence(&conn, user, fence.as_ref()).await? {
                return Err(StoreError::fenced());
            }
            return Ok(None);
        };
        let events: Vec<(u64, String)> = serde_json::from_str(&events)
            .map_err(|e| DbError::corrupt(format!("conversation ring of user {user}"), e))?;
        Ok(Some(KeptRing {
            complete_after: loaded(complete_after, "complete_after")?,
            last_seq: loaded(last_seq, "last_seq")?,
            events: events.into_iter().map(|(seq, frame)| (seq, Arc::from(frame))).collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{temp_db, users};

    #[tokio::test]
    async fn a_kept_ring_is_taken_back_once() {
        let (_dir, db) = temp_db(1).await;
        let user = users(&db, 1).await[0];
        assert_eq!(db.take_ring(user).await.unwrap(), None);
        let ring = KeptRing {
            complete_after: 1_700_000_000_000_000,
            last_seq: 1_700_000_000_000_002,
            events: vec![
                (1_700_000_000_000_001, Arc::from(r#"{"seq":1700000000000001,"type":"pong"}"#)),
                (1_700_000_000_000_002, Arc::from(r#"{"seq":1700000000000002,"type":"pong","x":"a \"quote\""}"#)),
            ],
        };
        db.keep_ring(user, &KeptRing::default()).await.unwrap();
        db.keep_ring(user, &ring).await.unwrap(); // the latest kept replaces the earlier one
        assert_eq!(db.take_ring(user).await.unwrap(), Some(ring));
        assert_eq!(db.take_ring(user).await.unwrap(), None, "handed out once");
    }
}
