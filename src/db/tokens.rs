//! Refresh tokens: issued in families, rotated on use; a reused token revokes its family.

use super::{Db, DbError, DbResult, now_text, now_unix, parse, query_one};
use actors::model::UserId;

/// Why a refresh token was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("unknown refresh token")]
    Unknown,
    #[error("refresh token expired")]
    Expired,
    #[error("refresh token revoked")]
    Revoked,
    /// A rotated token came back: someone else may hold it, so the family (named here) is revoked.
    #[error("refresh token reused; all sessions of this login were signed out")]
    Reused(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

struct TokenRow {
    family_id: String,
    user_id: UserId,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl Db {
    /// Store a new token (by hash) in `family_id`.
    pub async fn insert_refresh_token(&self, hash: &str, family_id: &str, user: UserId, ttl_secs: u64) -> DbResult<()> {
        let conn = self.writer().await;
        insert(&conn, hash, family_id, user, ttl_secs).await
    }

    /// Use `old_hash` once, replacing it with `new_hash` in the same family.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        ttl_secs: u64,
    ) -> Result<(UserId, String), RefreshError> {
        let conn = self.writer().await;
        let row = query_one(
            &conn,
            "SELECT family_id, user_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ?1",
            [old_hash],
            |r| {
                Ok(TokenRow {
                    family_id: r.get(0)?,
                    user_id: parse(&r.get::<String>(1)?, "user id")?,
                    expires_at: r.get(2)?,
                    used_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                })
            },
        )
        .await?
        .ok_or(RefreshError::Unknown)?;
        let now = now_unix();
        if row.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        if row.used_at.is_some() {
            revoke_family(&conn, &row.family_id, now).await?;
            return Err(RefreshError::Reused(row.family_id));
        }
        if row.expires_at <= now {
            return Err(RefreshError::Expired);
        }
        let tx = conn.transaction().await.map_err(DbError::from)?;
        tx.execute("UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2", libsql::params![now, old_hash])
            .await
            .map_err(DbError::from)?;
        insert(&tx, new_hash, &row.family_id, row.user_id, ttl_secs).await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok((row.user_id, row.family_id))
    }

    /// Revoke the family `hash` belongs to (logout); returns its user and the family. Unknown
    /// tokens are ignored.
    pub async fn revoke_refresh_family(&self, hash: &str) -> DbResult<Option<(UserId, String)>> {
        let conn = self.writer().await;
        let found =
            query_one(&conn, "SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = ?1", [hash], |r| {
                Ok((r.get::<String>(0)?, parse::<UserId>(&r.get::<String>(1)?, "user id")?))
            })
            .await?;
        let Some((family, user)) = found else { return Ok(None) };
        revoke_family(&conn, &family, now_unix()).await?;
        Ok(Some((user, family)))
    }

    /// Families revoked in the last `secs` seconds: their access tokens may still be unexpired.
    pub async fn recently_revoked_families(&self, secs: u64) -> DbResult<Vec<String>> {
        let conn = self.reader().await;
        let since = now_unix().saturating_sub(i64::try_from(secs).unwrap_or(i64::MAX));
        super::query_all(
            &conn,
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE revoked_at IS NOT NULL AND revoked_at >= ?1",
            [since],
            |r| Ok(r.get::<String>(0)?),
        )
        .await
    }
}

pub(super) async fn insert(
    conn: &libsql::Connection,
    hash: &str,
    family_id: &str,
    user: UserId,
    ttl_secs: u64,
) -> DbResult<()> {
    let expires = now_unix().saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        libsql::params![hash, family_id, user.to_string(), expires, now_text()],
    )
    .await?;
    Ok(())
}

async fn revoke_family(conn: &libsql::Connection, family: &str, now: i64) -> DbResult<()> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
        libsql::params![now, family],
    )
    .await?;
    Ok(())
}
