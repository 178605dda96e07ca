//! The group commit through an embedded replica: everything queued goes to the primary as ONE
//! batch call, a transaction there (an interactive transaction would cost a round trip per
//! statement), and each turn is answered only once the call has returned, i.e. once the
//! primary has it and the replica has caught up with it. A batch call reports no row counts,
//! so whether a child's turn was new or a resend is read back afterwards: the stored turn for
//! its `client_id` carries the transcript id chosen for it here, or another one.

use super::{Job, Plan, UPSERT_DRAFT, Work, answer, plan};
use crate::db::{DbError, DbResult, Sql, Writer, now_text, query_one};
use actors::ports::StoreErrorKind;
use std::sync::Arc;

/// Write `jobs` in one call and answer each. When the primary refused the call (a constraint,
/// say: one bad turn), nothing was written: each job is tried again on its own, so it sinks no
/// other. When the call failed on its way (the primary unreachable, too slow), it may still
/// have been written: nothing is tried again (no turn twice), every job hears it failed, and
/// the app's resend of a child's message (same `client_id`) finds it stored, or stores it.
pub(super) async fn write_batch(conn: &Writer, jobs: Vec<Job>) {
    let now = now_text();
    let mut prepared: Vec<DbResult<Prepared>> = jobs.iter().map(|job| prepare(job, &now)).collect();
    let statements = prepared.iter().flatten().flat_map(|p| p.statements.iter().cloned()).collect::<Vec<_>>();
    let ready = prepared.iter().filter(|p| p.is_ok()).count();
    let batch = conn.batch(statements).await.map_err(Arc::new);
    let mut results = Vec::with_capacity(jobs.len());
    for (job, prepared) in jobs.iter().zip(prepared.iter_mut()) {
        let result = match (prepared, &batch) {
            (Err(e), _) => Err(std::mem::replace(e, DbError::WriterGone)),
            (Ok(prepared), Ok(())) => outcome(conn, job, prepared).await,
            (Ok(prepared), Err(e)) if e.kind() != StoreErrorKind::Unavailable && ready > 1 => {
                match conn.batch(prepared.statements.clone()).await {
                    Ok(()) => outcome(conn, job, prepared).await,
                    Err(e) => Err(e),
                }
            }
            (Ok(_), Err(e)) => Err(DbError::GroupCommit { kind: e.kind(), source: e.clone() }),
        };
        results.push(result);
    }
    answer(jobs, results);
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

/// After the call: `false` when a child's turn with this `client_id` was stored before.
async fn outcome(conn: &Writer, job: &Job, prepared: &Prepared) -> DbResult<bool> {
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
