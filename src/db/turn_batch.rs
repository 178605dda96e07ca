//! Group commit for conversation turns: every turn is durable before it is answered, but the
//! turns of many conversations share one transaction. A caller queues its turn, then takes the
//! single write connection; whoever holds it writes everything queued (each turn in its own
//! savepoint, so one bad turn cannot sink the others) and commits once. Under load the queue
//! fills while the previous batch commits, so batches grow by themselves; alone, a turn is
//! written at once.

use super::{Db, DbError, now_text};
use actors::model::{Draft, UserId};
use actors::ports::{Speaker, TurnRecord};
use actors::protocol::RequirementsView;
use libsql::Connection;
use tokio::sync::oneshot;

/// A turn waiting to be written.
pub(super) struct Job {
    pub user: UserId,
    pub conversation_id: String,
    pub turn: TurnRecord,
    pub draft: Draft,
    /// `Ok(false)`: a resend (its `client_id` was stored before). `None`: nobody waits.
    pub done: Option<oneshot::Sender<Result<bool, String>>>,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

pub(super) async fn upsert_draft(
    conn: &Connection,
    user: UserId,
    conversation_id: &str,
    draft: &Draft,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO conversations (user_id, conversation_id, draft, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id) DO UPDATE SET conversation_id = excluded.conversation_id, draft = excluded.draft,
         updated_at = excluded.updated_at",
        libsql::params![user.to_string(), conversation_id, to_json(draft)?, now_text()],
    )
    .await?;
    Ok(())
}

/// The statements of one turn: the turn, the child's transcript, the draft after it.
async fn write_one(conn: &Connection, job: &Job) -> Result<bool, DbError> {
    let now = now_text();
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO conversation_turns (user_id, conversation_id, speaker, content, client_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            libsql::params![
                job.user.to_string(),
                job.conversation_id.as_str(),
                job.turn.speaker.as_str(),
                job.turn.content.as_str(),
                job.turn.client_id.clone(),
                now.as_str()
            ],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    if job.turn.speaker == Speaker::Child {
        // What the child said becomes part of their transcript history, with what was understood.
        conn.execute(
            "INSERT INTO transcripts (id, user_id, text, requirements, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            libsql::params![
                uuid::Uuid::new_v4().to_string(),
                job.user.to_string(),
                job.turn.content.as_str(),
                to_json(&RequirementsView::of(&job.draft))?,
                now.as_str()
            ],
        )
        .await?;
    }
    upsert_draft(conn, job.user, &job.conversation_id, &job.draft).await?;
    Ok(true)
}

/// Write `jobs` in one transaction, each in a savepoint; answer each after the commit.
async fn write_batch(conn: &Connection, jobs: Vec<Job>) {
    let mut results = Vec::with_capacity(jobs.len());
    let committed = async {
        let tx = conn.transaction().await?;
        for job in &jobs {
            tx.execute("SAVEPOINT turn", ()).await?;
            let result = write_one(&tx, job).await;
            if result.is_err() {
                tx.execute("ROLLBACK TO turn", ()).await?;
            }
            tx.execute("RELEASE turn", ()).await?;
            results.push(result.map_err(|e| e.to_string()));
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = committed {
        results = jobs.iter().map(|_| Err(format!("the turns could not be committed: {e}"))).collect();
    }
    for (job, result) in jobs.into_iter().zip(results) {
        match job.done {
            Some(done) => {
                let _ = done.send(result);
            }
            None => {
                if let Err(e) = result {
                    tracing::error!(user = %job.user, error = %e, "could not save a conversation turn");
                }
            }
        }
    }
}

impl Db {
    /// Queue `job`, then write whatever is queued if nobody else is writing it.
    pub(super) async fn write_turns(&self, job: Job) {
        self.queue_turn(job);
        self.flush_turns().await;
    }

    fn queue_turn(&self, job: Job) {
        if let Ok(mut queue) = self.inner.turns.lock() {
            queue.push(job);
        }
    }

    async fn flush_turns(&self) {
        let conn = self.writer().await;
        self.write_queued(&conn).await;
    }

    /// Write what is queued, on the write connection the caller holds: any other write to a
    /// conversation does this first, so queued turns never land after it.
    pub(super) async fn write_queued(&self, conn: &Connection) {
        let jobs = self.inner.turns.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default();
        if !jobs.is_empty() {
            self.inner.turn_batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            write_batch(conn, jobs).await;
        }
    }

    /// Group commits of conversation turns so far.
    pub fn turn_batches(&self) -> u64 {
        self.inner.turn_batches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queue a turn that nobody waits for (the agent's reply); it is written in order with
    /// the turns queued before and after it.
    pub(super) fn write_turn_soon(&self, job: Job) {
        self.queue_turn(job);
        let db = self.clone();
        tokio::spawn(async move { db.flush_turns().await });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actors::ports::ConversationStore;

    fn child(content: &str, client_id: Option<&str>) -> TurnRecord {
        TurnRecord { speaker: Speaker::Child, content: content.into(), client_id: client_id.map(str::to_owned) }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_turns_share_commits_and_one_bad_turn_sinks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 2).await.unwrap();
        let mut users = Vec::new();
        for i in 0..50 {
            users.push(db.create_user(&format!("u{i}@example.com"), "U", "hash").await.unwrap().id);
        }
        let before = db.turn_batches();
        let mut writes = Vec::new();
        for (i, user) in users.iter().copied().enumerate() {
            let db = db.clone();
            writes.push(tokio::spawn(async move {
                db.record_turn(user, "c", &child(&format!("hello {i}"), Some(&format!("m{i}"))), &Draft::default())
                    .await
            }));
        }
        // A user that does not exist: its turn fails (foreign key) and only its turn.
        let stranger = UserId::new();
        let failed = db.record_turn(stranger, "c", &child("who am I", None), &Draft::default()).await;
        assert!(failed.is_err());
        for write in writes {
            assert!(write.await.unwrap().unwrap(), "every turn was stored");
        }
        let batches = db.turn_batches() - before;
        assert!(batches < 51, "51 turns in {batches} commits");
        // A resend is recognised, and stored once.
        assert!(!db.record_turn(users[0], "c", &child("hello 0", Some("m0")), &Draft::default()).await.unwrap());
        let stored = db.load_conversation(users[0]).await.unwrap().unwrap();
        assert_eq!(stored.turns.len(), 1);
        // A turn nobody waits for is written before the next write to the conversation.
        let agent = TurnRecord { speaker: Speaker::Agent, content: "Hi!".into(), client_id: None };
        db.record_turn_soon(users[1], "c", &agent, &Draft { setting: Some("sea".into()), ..Draft::default() });
        db.save_draft(users[1], "c", &Draft { setting: Some("moon".into()), ..Draft::default() }).await.unwrap();
        let stored = db.load_conversation(users[1]).await.unwrap().unwrap();
        assert_eq!(stored.turns.last().unwrap().content, "Hi!");
        assert_eq!(stored.draft.setting.as_deref(), Some("moon"), "the later draft wins");
    }
}
