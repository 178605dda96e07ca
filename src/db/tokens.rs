//! Refresh tokens: issued in families, rotated on use; a reused token revokes its family.

use super::{Db, DbError, DbResult, Sql, now_text, now_unix, parse, query_one};
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
        let insert = insert(hash, family_id, user, ttl_secs, false)?;
        self.writer().await.write(insert).await?;
        Ok(())
    }

    /// Use `old_hash` once, replacing it with `new_hash` in the same family. Decided in the
    /// write (on a replica's primary, where two machines rotating the same token meet): the
    /// new token is stored only while the old one is unused, unrevoked and unexpired, and the
    /// old one is marked used only with it. What happened is read back afterwards.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        ttl_secs: u64,
    ) -> Result<(UserId, String), RefreshError> {
        let now = now_unix();
        let rotate = vec![
            Sql::new(
                "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at)
                 SELECT ?1, family_id, user_id, ?2, ?3 FROM refresh_tokens
                 WHERE token_hash = ?4 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?5",
                libsql::params![new_hash, expiry(ttl_secs), now_text(), old_hash, now],
            )?,
            Sql::new(
                "UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL
                 AND EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = ?3)",
                libsql::params![now, old_hash, new_hash],
            )?,
        ];
        let conn = self.writer().await;
        conn.batch(rotate).await?;
        let row = query_one(
            &conn,
            "SELECT family_id, user_id, expires_at, used_at, revoked_at,
             EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = ?2) FROM refresh_tokens WHERE token_hash = ?1",
            [old_hash, new_hash],
            |r| {
                let row = TokenRow {
                    family_id: r.get(0)?,
                    user_id: parse(&r.get::<String>(1)?, "user id")?,
                    expires_at: r.get(2)?,
                    used_at: r.get(3)?,
                    revoked_at: r.get(4)?,
                };
                Ok((row, r.get::<bool>(5)?))
            },
        )
        .await?;
        let (row, rotated) = row.ok_or(RefreshError::Unknown)?;
        if rotated {
            return Ok((row.user_id, row.family_id));
        }
        if row.revoked_at.is_some() {
            return Err(RefreshError::Revoked);
        }
        if row.used_at.is_some() {
            revoke_family(&conn, &row.family_id, now).await?;
            return Err(RefreshError::Reused(row.family_id));
        }
        debug_assert!(row.expires_at <= now, "an unused, unrevoked token is rotated unless expired");
        Err(RefreshError::Expired)
    }

    /// Revoke the family `hash` belongs to (logout); returns its user and the family. Unknown
    /// tokens are ignored. Revoked on the write itself (a replica may not have the token yet).
    pub async fn revoke_refresh_family(&self, hash: &str) -> DbResult<Option<(UserId, String)>> {
        let conn = self.writer().await;
        let revoke = Sql::new(
            "UPDATE refresh_tokens SET revoked_at = ?1 WHERE revoked_at IS NULL
             AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?2)",
            libsql::params![now_unix(), hash],
        )?;
        conn.write(revoke).await?;
        query_one(&conn, "SELECT family_id, user_id FROM refresh_tokens WHERE token_hash = ?1", [hash], |r| {
            Ok((parse::<UserId>(&r.get::<String>(1)?, "user id")?, r.get::<String>(0)?))
        })
        .await
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

fn expiry(ttl_secs: u64) -> i64 {
    now_unix().saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX))
}

/// Storing a new token; `with_new_user`: only when its user exists, i.e. in a registration's
/// write, only when the account (whose id is new) was inserted.
pub(super) fn insert(hash: &str, family_id: &str, user: UserId, ttl_secs: u64, with_new_user: bool) -> DbResult<Sql> {
    let sql = if with_new_user {
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?3)"
    } else {
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
    };
    Sql::new(sql, libsql::params![hash, family_id, user.to_string(), expiry(ttl_secs), now_text()])
}

async fn revoke_family(conn: &super::Writer, family: &str, now: i64) -> DbResult<()> {
    let revoke = Sql::new(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL",
        libsql::params![now, family],
    )?;
    conn.write(revoke).await?;
    Ok(())
}
