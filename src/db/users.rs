//! Users: create and look up.

use super::{Db, DbError, DbResult, now_text, parse, query_one};
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

impl Db {
    pub async fn create_user(
        &self,
        email: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<UserRecord, CreateUserError> {
        let user = UserRecord {
            id: UserId::new(),
            email: email.to_owned(),
            display_name: display_name.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: now_text(),
        };
        let conn = self.writer().await;
        let result = conn
            .execute(
                "INSERT INTO users (id, email, display_name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (email) DO NOTHING",
                libsql::params![
                    user.id.to_string(),
                    user.email.as_str(),
                    user.display_name.as_str(),
                    user.password_hash.as_str(),
                    user.created_at.as_str()
                ],
            )
            .await
            .map_err(DbError::from)?;
        if result == 0 {
            return Err(CreateUserError::EmailTaken);
        }
        Ok(user)
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
