//! The group commit through an embedded replica: everything queued goes to the primary as ONE
//! batch call, a transaction there (an interactive transaction would cost a round trip per
//! statement), and each turn is answered only once the call has returned, i.e. once the
//! primary has it and the replica has caught up with it. A batch call reports no row counts,
//! so whether a child's turn was new or a resend is read back afterwards: the stored turn for
//! its `client_id` carries the transcript id chosen for it here, or another one; and whether
//! the fence refused a job, from the user's home as the replica (caught up) now has it.

use super::{Job, Plan, UPSERT_DRAFT, Work, Written, plan};
use crate::db::fence::holds;
use crate::db::{DbError, DbResult, Sql, Writer, now_text, query_one};
use actors::model::UserId;
use actors::ports::StoreErrorKind;
use std::collections::HashMap;
use std::sync::Arc;

/// Write `jobs` in one call and answer each. When the primary refused the call (a constraint,
/// say: one bad turn), nothing was written: each job is tried again on its own, so it sinks no
/// other. When the call failed on its way (the primary unreachable, too slow), it may still
/// have been written: nothing is tried again (no turn twice), every job hears it failed, and
/// the app's resend of a child's message (same `client_id`) finds it stored, or stores it.
pub(super) async fn write_batch(conn: &Writer, jobs: &[Job]) -> Vec<Result<bool, DbError>> {
    let now = now_text();
    let mut prepared: Vec<DbResult<Prepared>> = jobs.iter().map(|job| prepare(job, &now)).collect();
    let statements = prepared.iter().flatten().flat_map(|p| p.statements.iter().cloned()).collect::<Vec<_>>();
    let ready = prepared.iter().filter(|p| p.is_ok()).count();
    let batch = conn.batch(statements).await.map_err(Arc::new);
    let mut homes = Homes::default();
    let mut results = Vec::with_capacity(jobs.len());
    for (job, prepared) in jobs.iter().zip(prepared.iter_mut()) {
        let result = match (prepared, &batch) {
            (Err(e), _) => Err(std::mem::replace(e, DbError::WriterGone)),
            (Ok(prepared), Ok(())) => outcome(conn, job, prepared, &mut homes).await,
            (Ok(prepared), Err(e)) if e.kind() != StoreErrorKind::Unavailable && ready > 1 => {
                match conn.batch(prepared.statements.clone()).await {
                    Ok(()) => outcome(conn, job, prepared, &mut Homes::default()).await,
                    Err(e) => Err(e),
                }
            }
            (Ok(_), Err(e)) => Err(DbError::GroupCommit { kind: e.kind(), source: e.clone() }),
        };
        results.push(result);
    }
    results
}

/// Whether each user's fence held, read once per user and batch.
#[derive(Default)]
struct Homes(HashMap<UserId, bool>);

impl Homes {
    async fn held(&mut self, conn: &Writer, job: &Job) -> DbResult<bool> {
        let Some(fence) = &job.fence else { return Ok(true) };
        if let Some(held) = self.0.get(&job.user) {
            return Ok(*held);
        }
        let held = holds(conn, job.user, fence).await?;
        self.0.insert(job.user, held);
        Ok(held)
    }
}

/// A job's statements, with the transcript id its child turn was given.
struct Prepared {
    statements: Vec<Sql>,
    transcript_id: Option<String>,
}

fn prepare(job: &Job, now: &str) -> DbResult<Prepared> {
    let Plan { step, draft, transcript_id } = plan(job, now)?;
    let mut statements = Vec::with_capacity(2);
    if let Some((step, values)) = step {
        statements.push(Sql { text: step.sql().into(), values });
    }
    if let Some(values) = draft {
        statements.push(Sql { text: UPSERT_DRAFT.into(), values });
    }
    Ok(Prepared { statements, transcript_id })
}

/// After the call: `false` when a child's turn with this `client_id` was stored before;
/// refused when the fence did not let the job through.
async fn outcome(conn: &Writer, job: &Job, prepared: &Prepared, homes: &mut Homes) -> DbResult<bool> {
    if !homes.held(conn, job).await? {
        return Written::Fenced.result();
    }
    let Work::Turn(turn) = &job.work else { return Ok(true) };
    let Some(client_id) = &turn.client_id else { return Ok(true) };
    let stored = query_one(
        conn,
        "SELECT transcript_id FROM conversation_turns WHERE user_id = ?1 AND client_id = ?2",
        [job.user.to_string(), client_id.clone()],
        |r| Ok(r.get::<Option<String>>(0)?),
    )
    .await?;
    Ok(stored.flatten() == prepared.transcript_id)
}
