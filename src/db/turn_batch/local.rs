//! The group commit on the local file: the queued jobs in one transaction, with the turn path's
//! statements prepared once (compiling them again for every turn cost more than running them).

use super::{INSERT_TURN, Job, Step, UPDATE_REQUIREMENTS, UPSERT_DRAFT, Written, plan};
use crate::db::{DbError, now_text};
use libsql::{Connection, Statement};

/// The statements of the turn path, prepared once on the write connection.
pub(in crate::db) struct TurnStatements {
    begin: Statement,
    commit: Statement,
    rollback: Statement,
    insert_turn: Statement,
    upsert_draft: Statement,
    update_requirements: Statement,
    /// Whether this process still holds the user's home with the job's epoch (read only when a
    /// job's statements changed nothing: was it the fence?).
    holds_home: Statement,
}

/// Run a prepared statement and make it ready for the next run, whatever happened.
async fn run(statement: &Statement, params: impl libsql::params::IntoParams) -> Result<usize, DbError> {
    let result = statement.execute(params).await;
    statement.reset();
    Ok(result?)
}

impl TurnStatements {
    pub(in crate::db) async fn prepare(conn: &Connection) -> Result<Self, DbError> {
        Ok(Self {
            begin: conn.prepare("BEGIN").await?,
            commit: conn.prepare("COMMIT").await?,
            rollback: conn.prepare("ROLLBACK").await?,
            insert_turn: conn.prepare(INSERT_TURN).await?,
            upsert_draft: conn.prepare(UPSERT_DRAFT).await?,
            update_requirements: conn.prepare(UPDATE_REQUIREMENTS).await?,
            holds_home: conn.prepare(crate::db::fence::HOLDS).await?,
        })
    }

    /// Whether the fence refused `job` (inside the transaction: what its statements saw).
    async fn refused(&self, job: &Job) -> Result<bool, DbError> {
        let Some(fence) = &job.fence else { return Ok(false) };
        let params = libsql::params![job.user.to_string(), fence.holder.to_string(), fence.epoch];
        // Read to the end before the statement is reset, whatever happened.
        let answer: Result<Option<bool>, libsql::Error> = async {
            let row = self.holds_home.query(params).await?.next().await?;
            row.map(|row| row.get::<bool>(0)).transpose()
        }
        .await;
        self.holds_home.reset();
        Ok(!crate::db::fence::held(answer?)?)
    }

    /// The statements of one job (see [`plan`]). A resend writes nothing more. Only a job whose
    /// statements changed nothing asks whether the fence refused it: a turn always inserts a
    /// row, so the common path reads nothing more.
    async fn write_one(&self, job: &Job, now: &str) -> Result<Written, DbError> {
        let plan = plan(job, now)?;
        let mut changed = 0;
        if let Some((step, values)) = plan.step {
            let statement = match step {
                Step::InsertTurn => &self.insert_turn,
                Step::UpdateRequirements => &self.update_requirements,
            };
            changed = run(statement, values).await?;
            if changed == 0 && step == Step::InsertTurn {
                return Ok(if self.refused(job).await? { Written::Fenced } else { Written::Resend });
            }
        }
        if let Some(values) = plan.draft {
            changed += run(&self.upsert_draft, values).await?;
        }
        Ok(if changed == 0 && self.refused(job).await? { Written::Fenced } else { Written::Stored })
    }

    /// Write `jobs` in one transaction: each one's result after the commit. A turn that fails
    /// (its user was just deleted, say) is rare: then the batch is rolled back and each turn
    /// written on its own, so one bad turn sinks no other. (A savepoint per turn did the same
    /// at all times, at the cost of two more statements and a sub-journal per turn.) A job the
    /// fence refused wrote nothing and sinks nothing either.
    pub(in crate::db) async fn write_batch(&self, jobs: &[Job]) -> Vec<Result<bool, DbError>> {
        let now = now_text();
        match self.write_all(jobs, &now).await {
            Ok(written) => written.into_iter().map(Written::result).collect(),
            Err(e) if jobs.len() == 1 => vec![Err(e)],
            Err(_) => {
                let mut results = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let written = self.write_all(std::slice::from_ref(job), &now).await;
                    results.push(written.and_then(|w| w.first().copied().unwrap_or(Written::Resend).result()));
                }
                results
            }
        }
    }

    /// `jobs` in one transaction: how each went, or nothing.
    async fn write_all(&self, jobs: &[Job], now: &str) -> Result<Vec<Written>, DbError> {
        run(&self.begin, ()).await?;
        let written = async {
            let mut written = Vec::with_capacity(jobs.len());
            for job in jobs {
                written.push(self.write_one(job, now).await?);
            }
            run(&self.commit, ()).await?;
            Ok(written)
        }
        .await;
        if written.is_err() {
            // Whatever failed, the transaction must not stay open on the shared connection.
            let _ = run(&self.rollback, ()).await;
        }
        written
    }
}
