//! The `homes` table: which machine (and process) holds each user's live state, until when,
//! and with which epoch. Claims, renewals and releases are each ONE conditional write, decided
//! on the primary and on its clock (so machines' clocks need not agree on who holds what);
//! what happened is read back from the statement itself (`RETURNING`).

use super::{Db, DbResult, Sql, parse, query_all, query_one};
use actors::model::UserId;
use actors::ports::OwnedStory;
use libsql::Row;
use std::time::Duration;

/// Now on the primary's clock, in milliseconds (the unit of `expires_at`).
const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/// A home this process claimed (or still held).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub epoch: i64,
    /// The machine whose lapsed lease this claim took over (not one it released).
    pub taken_from: Option<String>,
}

/// A user's home as this database knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HomeRow {
    pub instance: String,
    /// The process holding it; empty once released.
    pub holder: String,
    pub epoch: i64,
    pub expires_at_ms: i64,
}

impl HomeRow {
    /// Whether it is held at `now_ms` (this machine's clock: close to the primary's, and only a
    /// hint; the primary decides every claim).
    pub fn live_at(&self, now_ms: i64) -> bool {
        !self.holder.is_empty() && self.expires_at_ms > now_ms
    }
}

/// Now on this machine's clock, in the unit of `expires_at`.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

fn home_from_row(row: &Row) -> DbResult<HomeRow> {
    Ok(HomeRow { instance: row.get(0)?, holder: row.get(1)?, epoch: row.get(2)?, expires_at_ms: row.get(3)? })
}

impl Db {
    /// Claim `user`'s home for this process (`holder`, on machine `instance`) for `lease`. It
    /// is taken when nobody holds it (never claimed, released, or lapsed) or when this machine
    /// holds it: this process renews it (same epoch), a process before it on this machine (a
    /// restart) is replaced (a new epoch). `None`: another machine holds a live lease.
    pub async fn claim_home(
        &self,
        user: UserId,
        instance: &str,
        holder: &str,
        lease: Duration,
    ) -> DbResult<Option<Claim>> {
        let claim = Sql::new(
            format!(
                "INSERT INTO homes (user_id, instance, holder, epoch, expires_at) VALUES (?1, ?2, ?3, 1, {NOW_MS} + ?4)
                 ON CONFLICT (user_id) DO UPDATE SET
                     epoch = CASE WHEN homes.holder = excluded.holder THEN homes.epoch ELSE homes.epoch + 1 END,
                     taken_from = CASE WHEN homes.holder NOT IN ('', excluded.holder)
                         AND homes.instance <> excluded.instance THEN homes.instance END,
                     instance = excluded.instance, holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE homes.holder IN ('', excluded.holder) OR homes.instance = excluded.instance
                     OR homes.expires_at <= {NOW_MS}
                 RETURNING epoch, taken_from"
            ),
            libsql::params![user.to_string(), instance, holder, millis(lease)],
        )?;
        let claimed = self
            .writer()
            .await
            .write_returning(claim, |r| Ok(Claim { epoch: r.get(0)?, taken_from: r.get(1)? }))
            .await?;
        Ok(claimed.into_iter().next())
    }

    /// Renew every home `holder` has for another `lease`: the users (and epochs) it still holds.
    pub async fn renew_homes(&self, holder: &str, lease: Duration) -> DbResult<Vec<(UserId, i64)>> {
        let renew = Sql::new(
            format!("UPDATE homes SET expires_at = {NOW_MS} + ?2 WHERE holder = ?1 RETURNING user_id, epoch"),
            libsql::params![holder, millis(lease)],
        )?;
        let held = self.writer().await.write_returning(renew, |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?))).await?;
        held.into_iter().map(|(user, epoch)| Ok((parse(&user, "user id")?, epoch))).collect()
    }

    /// Let go of these users' homes, each only while `holder` still holds it with that epoch
    /// (one call). The row stays, with its epoch, so the next holder's is higher.
    pub async fn release_homes(&self, holder: &str, users: &[(UserId, i64)]) -> DbResult<()> {
        let statements = users
            .iter()
            .map(|(user, epoch)| {
                Sql::new(
                    "UPDATE homes SET holder = '', expires_at = 0 WHERE user_id = ?1 AND holder = ?2 AND epoch = ?3",
                    libsql::params![user.to_string(), holder, *epoch],
                )
            })
            .collect::<DbResult<Vec<_>>>()?;
        if statements.is_empty() {
            return Ok(());
        }
        self.writer().await.batch(statements).await
    }

    /// Let go of every home `holder` has (a graceful stop), or of every home there is (`None`:
    /// a local file at start-up, which no other process can be using); how many.
    pub async fn release_all_homes(&self, holder: Option<&str>) -> DbResult<u64> {
        let release = Sql::new(
            "UPDATE homes SET holder = '', expires_at = 0 WHERE holder <> '' AND (?1 IS NULL OR holder = ?1)",
            libsql::params![holder],
        )?;
        self.writer().await.write(release).await
    }

    /// `user`'s home as this database knows it (on a replica: as of its last sync).
    pub async fn home_of(&self, user: UserId) -> DbResult<Option<HomeRow>> {
        let conn = self.reader().await;
        let sql = "SELECT instance, holder, epoch, expires_at FROM homes WHERE user_id = ?1";
        query_one(&conn, sql, [user.to_string()], home_from_row).await
    }

    /// The stories pending or being written, or with a page waiting to be redone, oldest first,
    /// each with its owner's home as known here.
    pub async fn unfinished_with_homes(&self) -> DbResult<Vec<(OwnedStory, Option<HomeRow>)>> {
        let conn = self.reader().await;
        query_all(
            &conn,
            "SELECT h.instance, h.holder, h.epoch, h.expires_at, s.id, s.user_id
             FROM stories s LEFT JOIN homes h ON h.user_id = s.user_id
             WHERE s.status IN ('pending', 'processing')
                 OR s.id IN (SELECT story_id FROM scene_redos WHERE finished_at IS NULL)
             ORDER BY s.created_at",
            (),
            |r| {
                let story = OwnedStory {
                    id: parse(&r.get::<String>(4)?, "story id")?,
                    owner: parse(&r.get::<String>(5)?, "user id")?,
                };
                let home = if r.get::<Option<String>>(0)?.is_some() { Some(home_from_row(r)?) } else { None };
                Ok((story, home))
            },
        )
        .await
    }

    /// `user`'s stories pending or being written, or with a page waiting to be redone, oldest first.
    pub async fn unfinished_of(&self, user: UserId) -> DbResult<Vec<OwnedStory>> {
        let conn = self.reader().await;
        query_all(
            &conn,
            "SELECT id FROM stories WHERE user_id = ?1 AND (status IN ('pending', 'processing')
                 OR id IN (SELECT story_id FROM scene_redos WHERE finished_at IS NULL)) ORDER BY created_at",
            [user.to_string()],
            |r| Ok(OwnedStory { id: parse(&r.get::<String>(0)?, "story id")?, owner: user }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{temp_db, users};

    const LEASE: Duration = Duration::from_secs(15);

    #[tokio::test]
    async fn a_home_is_claimed_once_renewed_by_its_holder_and_taken_over_only_when_it_lapses() {
        let (_dir, db) = temp_db(1).await;
        let user = users(&db, 1).await[0];
        let first = db.claim_home(user, "m1", "m1/a", LEASE).await.unwrap().unwrap();
        assert_eq!(first, Claim { epoch: 1, taken_from: None });
        // The holder claiming again keeps its epoch (two requests at once fence nothing).
        assert_eq!(db.claim_home(user, "m1", "m1/a", LEASE).await.unwrap().unwrap().epoch, 1);
        // Another machine cannot while the lease is live.
        assert_eq!(db.claim_home(user, "m2", "m2/b", LEASE).await.unwrap(), None);
        let row = db.home_of(user).await.unwrap().unwrap();
        assert_eq!((row.instance.as_str(), row.holder.as_str(), row.epoch), ("m1", "m1/a", 1));
        assert!(row.live_at(now_ms()) && !row.live_at(now_ms() + 16_000));
        // The lease lapses (renewed for no time at all): the other machine takes it over.
        assert_eq!(db.renew_homes("m1/a", Duration::ZERO).await.unwrap(), [(user, 1)]);
        let taken = db.claim_home(user, "m2", "m2/b", LEASE).await.unwrap().unwrap();
        assert_eq!(taken, Claim { epoch: 2, taken_from: Some("m1".into()) });
        // The old holder renews nothing now, and cannot release what it lost.
        assert!(db.renew_homes("m1/a", LEASE).await.unwrap().is_empty());
        db.release_homes("m1/a", &[(user, 1)]).await.unwrap();
        assert_eq!(db.home_of(user).await.unwrap().unwrap().holder, "m2/b");
        // Released, it is anyone's at once (not a takeover), with a higher epoch.
        db.release_homes("m2/b", &[(user, 2)]).await.unwrap();
        assert!(!db.home_of(user).await.unwrap().unwrap().live_at(now_ms()));
        let back = db.claim_home(user, "m1", "m1/c", LEASE).await.unwrap().unwrap();
        assert_eq!(back, Claim { epoch: 3, taken_from: None });
        // A new process on the same machine (a restart) replaces the old one at once.
        let restarted = db.claim_home(user, "m1", "m1/d", LEASE).await.unwrap().unwrap();
        assert_eq!(restarted, Claim { epoch: 4, taken_from: None });
        assert_eq!(db.release_all_homes(Some("m1/d")).await.unwrap(), 1);
        assert_eq!(db.release_all_homes(None).await.unwrap(), 0, "nothing held any more");
    }

    #[tokio::test]
    async fn unfinished_stories_come_with_their_owners_home() {
        let (_dir, db) = temp_db(1).await;
        let users = users(&db, 2).await;
        let request = actors::requirements::request_from("a fox");
        let spec = actors::model::StorySpec::new(request, &actors::model::SpecLimits::default()).unwrap();
        for user in &users {
            db.create_story(*user, &spec, None, None).await.unwrap();
        }
        db.claim_home(users[1], "m2", "m2/b", LEASE).await.unwrap();
        let found = db.unfinished_with_homes().await.unwrap();
        let homes: Vec<(UserId, Option<String>)> =
            found.iter().map(|(s, h)| (s.owner, h.as_ref().map(|h| h.instance.clone()))).collect();
        assert_eq!(homes, [(users[0], None), (users[1], Some("m2".into()))]);
        assert_eq!(db.unfinished_of(users[1]).await.unwrap(), [found[1].0]);
    }
}
