//! Group commit for conversation writes (turns, what was understood, drafts): every turn is
//! durable before it is answered, but the writes of many conversations share one transaction.
//! A caller queues its write and wakes the turn writer, a task that takes the single write
//! connection and writes everything queued, in order, with statements prepared once, then
//! commits once (one bad write sinks no other: see `write_batch`). Under load the queue fills
//! while the previous batch commits, so batches grow by themselves; alone, a write is made at
//! once. Through a replica the batch goes to the primary as one call (`delegated`). Every
//! statement is fenced: it goes through only while this process is the user's home (a job
//! so refused fails with `Fenced`, and sinks no other).

#[cfg(feature = "replica")]
mod delegated;
mod local;

pub(super) use local::TurnStatements;

use super::understood::Understood;
use super::writer::Mode;
use super::{Db, DbError, Fence, Inner};
use actors::model::{Draft, UserId};
use actors::ports::{Speaker, TurnRecord};
use std::sync::Weak;
use tokio::sync::{Notify, oneshot};

/// What a job writes.
pub(super) enum Work {
    /// A turn of the conversation (a child's is also their transcript, kept with what was
    /// understood so far: the job's draft, until `Understanding` updates it).
    Turn(TurnRecord),
    /// What the agent understood from the child's latest turn: the draft, also kept with that
    /// turn.
    Understanding,
    /// The draft alone (a new conversation, or the draft after a story started).
    Draft,
}

/// A write waiting for the turn writer.
pub(super) struct Job {
    pub user: UserId,
    pub conversation_id: String,
    pub work: Work,
    /// The draft after the write, written unless it is stored as it is. `None`: the write
    /// changes no draft (the agent's reply).
    pub draft: Option<Draft>,
    /// This process's claim on the user's home (`None`: unfenced, the database's own tests).
    pub fence: Option<Fence>,
    /// `Ok(false)`: a resend (its `client_id` was stored before). `None`: nobody waits.
    pub done: Option<oneshot::Sender<Result<bool, DbError>>>,
}

/// How one job's write went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Written {
    Stored,
    /// A child's turn whose `client_id` was stored before.
    Resend,
    /// Refused: this process is not the user's home any more.
    Fenced,
}

impl Written {
    /// What the job's caller is told: `false` for a resend.
    fn result(self) -> Result<bool, DbError> {
        match self {
            Self::Stored => Ok(true),
            Self::Resend => Ok(false),
            Self::Fenced => Err(DbError::Fenced),
        }
    }
}

/// Send each job its result (or log it, when nobody waits).
fn answer(jobs: Vec<Job>, results: Vec<Result<bool, DbError>>) {
    for (job, result) in jobs.into_iter().zip(results) {
        match job.done {
            Some(done) => {
                let _ = done.send(result);
            }
            None => {
                if let Err(e) = result {
                    tracing::error!(user = %job.user, error = ?e, "could not save a conversation turn");
                }
            }
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, DbError> {
    Ok(serde_json::to_string(value)?)
}

// Each statement is fenced (`?9`/`?10`, `?3`/`?4`, `?5`/`?6`: this process and its epoch, as
// `fence::condition` spells it; NULL when unfenced), so a turn stays one statement.
const INSERT_TURN: &str = "INSERT OR IGNORE INTO conversation_turns
     (user_id, conversation_id, speaker, content, client_id, created_at, transcript_id, requirements)
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
     WHERE ?9 IS NULL OR EXISTS (SELECT 1 FROM homes WHERE user_id = ?1 AND holder = ?9 AND epoch = ?10)";

/// What was understood from a child's turn, kept with the user's latest one.
const UPDATE_REQUIREMENTS: &str = "UPDATE conversation_turns SET requirements = ?1 WHERE id = (SELECT id FROM
     conversation_turns WHERE user_id = ?2 AND speaker = 'child' ORDER BY id DESC LIMIT 1)
     AND (?3 IS NULL OR EXISTS (SELECT 1 FROM homes WHERE user_id = ?2 AND holder = ?3 AND epoch = ?4))";

/// A draft that is already stored as it is is not written again.
const UPSERT_DRAFT: &str = "INSERT INTO conversations (user_id, conversation_id, draft, updated_at)
     SELECT ?1, ?2, ?3, ?4
     WHERE ?5 IS NULL OR EXISTS (SELECT 1 FROM homes WHERE user_id = ?1 AND holder = ?5 AND epoch = ?6)
     ON CONFLICT (user_id) DO UPDATE SET conversation_id = excluded.conversation_id, draft = excluded.draft,
     updated_at = excluded.updated_at
     WHERE conversation_id IS NOT excluded.conversation_id OR draft IS NOT excluded.draft";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    InsertTurn,
    UpdateRequirements,
}

impl Step {
    #[cfg_attr(not(feature = "replica"), allow(dead_code))]
    fn sql(self) -> &'static str {
        match self {
            Self::InsertTurn => INSERT_TURN,
            Self::UpdateRequirements => UPDATE_REQUIREMENTS,
        }
    }
}

/// What one job writes, as values for its statements: the turn (a child's with its transcript
/// id, chosen here, and what was understood so far) or what was understood from the child's
/// latest turn; then the draft after it.
pub(super) struct Plan {
    pub step: Option<(Step, Vec<libsql::Value>)>,
    pub draft: Option<Vec<libsql::Value>>,
    /// A child's turn's id in their history.
    #[cfg_attr(not(feature = "replica"), allow(dead_code))]
    pub transcript_id: Option<String>,
}

pub(super) fn plan(job: &Job, now: &str) -> Result<Plan, DbError> {
    let user = job.user.to_string();
    // What was understood, as kept with a child's turn.
    let requirements = || job.draft.as_ref().map_or(Ok("{}".to_owned()), |d| to_json(&Understood::of(d)));
    // Each statement's values, then the fence's.
    let values = |v: Vec<libsql::Result<libsql::Value>>| {
        let mut values = v.into_iter().collect::<Result<Vec<_>, _>>()?;
        values.extend(super::fence::values(job.fence.as_ref()));
        Ok::<_, DbError>(values)
    };
    let mut transcript_id = None;
    let step = match &job.work {
        Work::Turn(turn) => {
            let understood = if turn.speaker == Speaker::Child {
                transcript_id = Some(uuid::Uuid::now_v7().to_string());
                Some(requirements()?)
            } else {
                None
            };
            let values = values(Vec::from(libsql::params![
                user.as_str(),
                job.conversation_id.as_str(),
                turn.speaker.as_str(),
                turn.content.as_str(),
                turn.client_id.as_deref(),
                now,
                transcript_id.as_deref(),
                understood
            ]))?;
            Some((Step::InsertTurn, values))
        }
        Work::Understanding => {
            Some((Step::UpdateRequirements, values(Vec::from(libsql::params![requirements()?, user.as_str()]))?))
        }
        Work::Draft => None,
    };
    let draft = match &job.draft {
        Some(draft) => {
            Some(values(Vec::from(libsql::params![user.as_str(), job.conversation_id.as_str(), to_json(draft)?, now]))?)
        }
        None => None,
    };
    Ok(Plan { step, draft, transcript_id })
}

/// The turn writer: wakes when turns are queued and writes them, until the database is gone.
pub(super) fn spawn_writer(db: Weak<Inner>, wake: std::sync::Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            wake.notified().await;
            // Let the conversations that are already running queue their turns too.
            tokio::task::yield_now().await;
            let Some(inner) = db.upgrade() else { return };
            let db = Db { inner };
            let conn = db.writer().await;
            db.write_queued(&conn).await;
        }
    });
}

impl Db {
    /// Queue `job` for the turn writer (and wake it).
    pub(super) fn queue_write(&self, job: Job) {
        actors::sync::lock(&self.inner.turns).push(job);
        self.inner.turns_queued.notify_one();
    }

    /// Write what is queued, on the write connection the caller holds. Every write to a
    /// conversation goes through this queue, so they land in the order they were made.
    async fn write_queued(&self, conn: &super::Writer) {
        let jobs = std::mem::take(&mut *actors::sync::lock(&self.inner.turns));
        if !jobs.is_empty() {
            if let Some(histogram) = self.inner.turns_per_commit.get() {
                histogram.observe(jobs.len() as f64);
            }
            let started = std::time::Instant::now();
            let results = match conn.mode() {
                Mode::Local(turns) => turns.write_batch(&jobs).await,
                #[cfg(feature = "replica")]
                Mode::Delegated { .. } => delegated::write_batch(conn, &jobs).await,
                #[cfg(not(feature = "replica"))]
                Mode::Delegated { .. } => unreachable!("replicas are opened only with the `replica` feature"),
            };
            if let Some(timings) = self.inner.timings.get() {
                timings.commit.observe(started.elapsed().as_secs_f64());
            }
            for (job, result) in jobs.iter().zip(&results) {
                if matches!(result, Err(DbError::Fenced)) {
                    self.note_fenced(job.user);
                }
            }
            answer(jobs, results);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{temp_db, users};
    use actors::ports::ConversationStore;

    fn child(content: &str, client_id: Option<&str>) -> TurnRecord {
        TurnRecord { speaker: Speaker::Child, content: content.into(), client_id: client_id.map(str::to_owned) }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_turns_share_commits_and_one_bad_turn_sinks_nothing() {
        let (_dir, db) = temp_db(2).await;
        let users = users(&db, 50).await;
        let commits = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("c", "commits")).unwrap();
        db.observe_turns_per_commit(commits.clone());
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
        assert_eq!(failed.unwrap_err().kind(), actors::ports::StoreErrorKind::ReferenceGone);
        for write in writes {
            assert!(write.await.unwrap().unwrap(), "every turn was stored");
        }
        let batches = commits.get_sample_count();
        assert!(batches < 51, "51 turns in {batches} commits");
        // A resend is recognised, and stored once.
        assert!(!db.record_turn(users[0], "c", &child("hello 0", Some("m0")), &Draft::default()).await.unwrap());
        let stored = db.load_conversation(users[0]).await.unwrap().unwrap();
        assert_eq!(stored.turns.len(), 1);
        // A turn nobody waits for is written before the next write to the conversation.
        let agent = TurnRecord { speaker: Speaker::Agent, content: "Hi!".into(), client_id: None };
        db.record_turn_soon(users[1], "c", &agent);
        db.save_draft(users[1], "c", &Draft { setting: actors::model::Place::parse("moon").ok(), ..Draft::default() })
            .await
            .unwrap();
        let stored = db.load_conversation(users[1]).await.unwrap().unwrap();
        assert_eq!(stored.turns.last().unwrap().content, "Hi!");
        assert_eq!(stored.draft.place(), Some("moon"), "the later draft wins");
    }

    /// The WAL's generation (its salts) and how many frames it holds: pages rewritten since
    /// the checkpoint task last started it again.
    fn wal_frames(path: &std::path::Path) -> (u64, usize) {
        let wal = std::fs::read(path).unwrap();
        let word = |at: usize| u32::from_be_bytes(wal[at..at + 4].try_into().unwrap());
        let (page_size, salts) = (word(8) as usize, (u64::from(word(16)) << 32) | u64::from(word(20)));
        let mut frames = 0;
        let mut at = 32;
        while at + 24 + page_size <= wal.len() && (u64::from(word(at + 8)) << 32 | u64::from(word(at + 12))) == salts {
            frames += 1;
            at += 24 + page_size;
        }
        (salts, frames)
    }

    /// Each message costs the pages it rewrites, in the WAL, in the checkpoint and on every
    /// replica: a child's turn is one row (it is also their transcript) in one index of theirs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_exchange_rewrites_few_pages() {
        let (dir, db) = temp_db(1).await;
        let users = users(&db, 20).await;
        let draft = Draft { setting: actors::model::Place::parse("the moon").ok(), ..Draft::default() };
        let agent =
            TurnRecord { speaker: Speaker::Agent, content: "Ooh, and then what happened?".into(), client_id: None };
        let exchange = |user: UserId, n: usize| {
            let (db, draft, agent) = (db.clone(), draft.clone(), agent.clone());
            async move {
                let said = child(&format!("and then the dragon flew over the hills, number {n}"), None);
                assert!(db.record_turn(user, "c", &said, &draft).await.unwrap());
                assert!(db.record_turn(user, "c", &agent, &draft).await.unwrap());
            }
        };
        // A history, so that every user's turns span several pages.
        for n in 0..40 {
            for user in &users {
                exchange(*user, n).await;
            }
        }
        let wal = dir.path().join("t.db-wal");
        let mut attempts = 0;
        let rewritten = loop {
            // Measured between two restarts of the WAL by the checkpoint task.
            attempts += 1;
            assert!(attempts <= 50, "the WAL started again during every one of 50 measurements");
            let (generation, before) = wal_frames(&wal);
            for n in 0..5 {
                for user in &users {
                    exchange(*user, n).await;
                }
            }
            let (still, after) = wal_frames(&wal);
            if still == generation {
                break after - before;
            }
        };
        let per_exchange = rewritten as f64 / 100.0;
        // Each commit rewrites a few shared pages (the database header, the table's last page,
        // AUTOINCREMENT's counter) and the user's index page, now and then splitting one: 6.6
        // pages per exchange of two commits. With the transcript a second row in an index of
        // its own, and the turns' index descending, it was 10.5.
        assert!(per_exchange <= 8.0, "{per_exchange} pages rewritten per exchange");
    }
}
