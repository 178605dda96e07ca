//! Numbered migrations from `schema/`, applied in order at start-up, each once, recorded
//! in `schema_migrations`. Migrations are never edited once released: add a new file.

use super::{DbResult, query_one};
use libsql::Connection;

/// Every file in `schema/`, in order. A unit test checks this list matches the folder.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../../schema/0001_init.sql")),
    (2, "0002_conversations", include_str!("../../schema/0002_conversations.sql")),
];

pub async fn apply(conn: &Connection) -> DbResult<()> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        (),
    )
    .await?;
    let current: i64 =
        query_one(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", (), |r| Ok(r.get(0)?))
            .await?
            .unwrap_or(0);
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
        let tx = conn.transaction().await?;
        tx.execute_batch(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            libsql::params![*version, *name, super::now_text()],
        )
        .await?;
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
        for (i, (version, name, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i as i64 + 1);
            assert!(name.starts_with(&format!("{version:04}_")));
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
}
