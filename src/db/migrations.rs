//! Numbered migrations from `schema/`, applied in order at start-up, each once, recorded
//! in `schema_migrations`. Migrations are never edited once released: add a new file.
//! Through a replica they run on the primary, each exactly once however many machines start
//! at the same moment (see `apply_delegated`).

use super::{DbResult, Sql, Writer, query_one};
use libsql::Connection;

/// Every file in `schema/`, in order. A unit test checks this list matches the folder.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../../schema/0001_init.sql")),
    (2, "0002_conversations", include_str!("../../schema/0002_conversations.sql")),
    (3, "0003_child_turns_are_transcripts", include_str!("../../schema/0003_child_turns_are_transcripts.sql")),
    (4, "0004_conversation_rings", include_str!("../../schema/0004_conversation_rings.sql")),
    (5, "0005_written_by", include_str!("../../schema/0005_written_by.sql")),
    (6, "0006_story_cast", include_str!("../../schema/0006_story_cast.sql")),
    (7, "0007_scene_redos", include_str!("../../schema/0007_scene_redos.sql")),
    (8, "0008_homes", include_str!("../../schema/0008_homes.sql")),
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
    (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";
const RECORD: &str = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

pub async fn apply(conn: &Connection) -> DbResult<()> {
    apply_until(conn, i64::MAX).await
}

/// The migrations this replica lacks, on its primary. Each is ONE batch call, a transaction on
/// the primary that first records its version: when another machine's batch recorded it first,
/// ours fails on that row before running anything, and rolls back. It then only has to see the
/// version recorded (after a sync) to know the migration was made, by someone else.
#[cfg(feature = "replica")]
pub(super) async fn apply_delegated(
    writer: &Writer,
    syncer: &super::replica::Syncer,
    timeout: std::time::Duration,
) -> DbResult<()> {
    writer.write(Sql::new(CREATE_TABLE, [])?).await?;
    for (version, name, sql) in MIGRATIONS {
        if recorded(writer, *version).await? {
            continue;
        }
        let record = Sql::new(RECORD, libsql::params![*version, *name, super::now_text()])?.inlined()?;
        match writer.batch_text(format!("{record};\n{sql}"), timeout).await {
            Ok(()) => tracing::info!(version, name, "applied migration"),
            Err(e) => {
                // Ours failed: either another machine made it first (its row is there once
                // synced), or it failed on its own (then start-up stops here).
                let _ = syncer.sync(timeout).await;
                if !recorded(writer, *version).await? {
                    return Err(e);
                }
                tracing::info!(version, name, "migration applied by another machine");
            }
        }
    }
    Ok(())
}

/// Whether `version` is recorded in this database (on a replica: as of its last sync).
async fn recorded(conn: &Connection, version: i64) -> DbResult<bool> {
    let sql = "SELECT 1 FROM schema_migrations WHERE version = ?1";
    Ok(query_one(conn, sql, [version], |_| Ok(())).await?.is_some())
}

/// Whether every migration this build knows is recorded here (a replica never synced has no
/// tables at all).
pub(super) async fn is_current(conn: &Connection) -> DbResult<bool> {
    let table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
    if query_one(conn, table, (), |_| Ok(())).await?.is_none() {
        return Ok(false);
    }
    let last = MIGRATIONS.last().map_or(0, |(version, _, _)| *version);
    recorded(conn, last).await
}

/// The migrations up to version `last` not recorded yet (each looked up: a number left free
/// for a migration of another branch may be filled after a later one was applied).
async fn apply_until(conn: &Connection, last: i64) -> DbResult<()> {
    conn.execute(CREATE_TABLE, ()).await?;
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v <= last) {
        if recorded(conn, *version).await? {
            continue;
        }
        let tx = conn.transaction().await?;
        tx.execute_batch(sql).await?;
        tx.execute(RECORD, libsql::params![*version, *name, super::now_text()]).await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_file_is_listed_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_owned())
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|(_, n, _)| (*n).to_owned()).collect();
        assert_eq!(files, listed);
        // Increasing; a number may be left free for a migration landing from another branch.
        let mut before = 0;
        for (version, name, _) in MIGRATIONS {
            assert!(*version > before, "{name} after version {before}");
            assert!(name.starts_with(&format!("{version:04}_")));
            before = *version;
        }
    }

    #[tokio::test]
    async fn applying_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let db = libsql::Builder::new_local(dir.path().join("t.db")).build().await.unwrap();
        let conn = db.connect().unwrap();
        apply(&conn).await.unwrap();
        apply(&conn).await.unwrap();
        let n: i64 =
            query_one(&conn, "SELECT COUNT(*) FROM schema_migrations", (), |r| Ok(r.get(0)?)).await.unwrap().unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
    }

    /// Before 0003 a child's turn was stored twice: as a turn and as a transcript.
    #[tokio::test]
    async fn child_turns_take_over_their_transcripts_and_the_history_stays_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let db = libsql::Builder::new_local(&path).build().await.unwrap();
            let conn = db.connect().unwrap();
            apply_until(&conn, 2).await.unwrap();
            conn.execute_batch(
                "INSERT INTO users VALUES ('0190a000-0000-7000-8000-000000000001', 'a@example.com', 'h', 'Ada', '2026-11-01T10:00:00.000Z');
                 INSERT INTO conversation_turns (user_id, conversation_id, speaker, content, created_at) VALUES
                   ('0190a000-0000-7000-8000-000000000001', 'c0', 'child', 'hello', '2026-11-01T09:59:00.000Z'),
                   ('0190a000-0000-7000-8000-000000000001', 'c1', 'child', 'a robot called Bolt', '2026-11-01T10:00:01.000Z'),
                   ('0190a000-0000-7000-8000-000000000001', 'c1', 'agent', 'Ooh, Bolt!', '2026-11-01T10:00:01.000Z'),
                   ('0190a000-0000-7000-8000-000000000001', 'c1', 'child', 'on the moon', '2026-11-01T10:00:02.000Z'),
                   ('0190a000-0000-7000-8000-000000000001', 'c1', 'agent', 'The moon!', '2026-11-01T10:00:02.000Z');
                 INSERT INTO transcripts VALUES
                   ('t-bolt', '0190a000-0000-7000-8000-000000000001', 'a robot called Bolt', '{\"title\":\"Bolt\"}', '2026-11-01T10:00:01.000Z'),
                   ('t-moon', '0190a000-0000-7000-8000-000000000001', 'on the moon', '{\"setting\":\"the moon\"}', '2026-11-01T10:00:02.000Z'),
                   ('t-posted', '0190a000-0000-7000-8000-000000000001', 'said offline', NULL, '2026-11-01T10:00:03.000Z');",
            )
            .await
            .unwrap();
        }
        let db = crate::db::Db::open(&path, 1).await.unwrap();
        let user = "0190a000-0000-7000-8000-000000000001".parse().unwrap();
        let mut history: Vec<(String, String, Option<serde_json::Value>)> =
            db.transcripts(user, 10).await.unwrap().into_iter().map(|t| (t.id, t.text, t.requirements)).collect();
        // A child's turn that had no transcript (none are expected) gets a new UUID.
        let (id, text, requirements) = history.pop().unwrap();
        assert_eq!((text.as_str(), requirements), ("hello", None));
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4, "{id}");
        assert_eq!(
            history,
            [
                ("t-posted".into(), "said offline".into(), None),
                ("t-moon".into(), "on the moon".into(), Some(serde_json::json!({"setting": "the moon"}))),
                ("t-bolt".into(), "a robot called Bolt".into(), Some(serde_json::json!({"title": "Bolt"}))),
            ]
        );
        let limited: Vec<String> = db.transcripts(user, 2).await.unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(limited, ["t-posted", "t-moon"]);
        let conn = db.reader().await;
        let left: i64 =
            query_one(&conn, "SELECT COUNT(*) FROM transcripts", (), |r| Ok(r.get(0)?)).await.unwrap().unwrap();
        assert_eq!(left, 1, "only the posted transcript stays a transcript");
        let turns: Vec<(String, Option<String>, Option<String>)> = crate::db::query_all(
            &conn,
            "SELECT speaker, transcript_id, requirements FROM conversation_turns WHERE content != 'hello' ORDER BY id",
            (),
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .await
        .unwrap();
        assert_eq!(
            turns,
            [
                ("child".into(), Some("t-bolt".into()), Some(r#"{"title":"Bolt"}"#.into())),
                ("agent".into(), None, None),
                ("child".into(), Some("t-moon".into()), Some(r#"{"setting":"the moon"}"#.into())),
                ("agent".into(), None, None),
            ]
        );
    }
}
