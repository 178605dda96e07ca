//! Users: create and look up.

use super::{Db, DbError, DbResult, Sql, now_text, parse, query_one};
use actors::model::UserId;
use libsql::Row;

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: String,
}

const COLUMNS: &str = "id, email, display_name, password_hash, created_at";

fn from_row(row: &Row) -> DbResult<UserRecord> {
    Ok(UserRecord {
        id: parse(&row.get::<String>(0)?, "user id")?,
        email: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// Creating a user whose email is taken.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The refresh token of the session a registration starts (stored with the account, in one
/// transaction: a registration that fails leaves no account behind).
pub struct FirstSession<'a> {
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub ttl_secs: u64,
}

impl Db {
    pub async fn create_user(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<UserRecord, CreateUserError> {
        self.create_user_signed_in(email, display_name, password_hash, None).await
    }

    /// Create a user and, when given, the refresh token of their first session, atomically.
    pub async fn create_user_signed_in(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
        session: Option<FirstSession<'_>>,
    ) -> Result<UserRecord, CreateUserError> {
        let user = UserRecord {
            id: UserId::new(),
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: now_text(),
        };
        // Decided on the write: the account is inserted unless the email (or, on a retry of a
        // write that reached a replica's primary, the id) is taken; the session only with it.
        let mut statements = vec![Sql::new(
            "INSERT INTO users (id, email, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
            libsql::params![
                user.id.to_string(),
                user.email.as_str(),
                user.display_name.as_str(),
                user.password_hash.as_str(),
                user.created_at.as_str()
            ],
        )?];
        if let Some(session) = session {
            statements.push(super::tokens::insert(
                session.token_hash,
                session.family_id,
                user.id,
                session.ttl_secs,
                true,
            )?);
        }
        let conn = self.writer().await;
        conn.batch(statements).await?;
        let sql = "SELECT 1 FROM users WHERE id = ?1";
        match query_one(&conn, sql, [user.id.to_string()], |_| Ok(())).await? {
            Some(()) => Ok(user),
            None => Err(CreateUserError::EmailTaken),
        }
    }

    pub async fn user_by_email(&self, email: &str) -> DbResult<Option<UserRecord>> {
        let conn = self.reader().await;
        query_one(&conn, &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"), [email], from_row).await
    }

    pub async fn user_by_id(&self, id: UserId) -> DbResult<Option<UserRecord>> {
        let conn = self.reader().await;
        query_one(&conn, &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id.to_string()], from_row).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registration_whose_session_cannot_be_stored_leaves_no_account() {
        let (_dir, db) = crate::db::testing::temp_db(1).await;
        let first = FirstSession { token_hash: "h1", family_id: "f1", ttl_secs: 60 };
        let ada = db.create_user_signed_in("ada@example.com", "Ada", "hash", Some(first)).await.unwrap();
        // The same token hash again: the session's insert fails, and the account goes with it.
        let again = FirstSession { token_hash: "h1", family_id: "f2", ttl_secs: 60 };
        let failed = db.create_user_signed_in("bo@example.com", "Bo", "hash", Some(again)).await;
        let conflict = actors::ports::StoreErrorKind::Conflict;
        assert!(matches!(&failed, Err(CreateUserError::Db(e)) if e.kind() == conflict), "{failed:?}");
        assert!(db.user_by_email("bo@example.com").await.unwrap().is_none());
        // And the email is free for the retry.
        let retry = FirstSession { token_hash: "h2", family_id: "f2", ttl_secs: 60 };
        db.create_user_signed_in("bo@example.com", "Bo", "hash", Some(retry)).await.unwrap();
        assert!(matches!(db.create_user("ada@example.com", "Ada", "hash").await, Err(CreateUserError::EmailTaken)));
        assert!(db.user_by_id(ada.id).await.unwrap().is_some());
    }
}
