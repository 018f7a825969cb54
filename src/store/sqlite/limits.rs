//! The Gong allowance (`api_quota`) and pauses (`pauses`), on this machine's clock.

use std::time::Duration;

use sqlx::Row;

use super::{now_ms, SqliteStore};
use crate::store::{ActivePause, Slot, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The time when the statement runs, in Unix ms: a reservation may wait behind other writes,
/// and a slot computed from an earlier clock reading would be in the past.
const SQL_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

impl SqliteStore {
    pub async fn reserve_request(
        &self,
        api: &str,
        spacing: Duration,
        daily_limit: u32,
    ) -> Result<Slot, StoreError> {
        let day = now_ms() / DAY_MS;
        let spacing = millis(spacing);
        let sql = format!(
            "INSERT INTO api_quota (api, next_slot, day, used, blocked_until) \
             VALUES (?1, {SQL_NOW_MS} + ?2, ?3, 1, 0) \
             ON CONFLICT (api) DO UPDATE SET \
                 next_slot = MAX(next_slot, {SQL_NOW_MS}, blocked_until) + ?2, \
                 used = CASE WHEN day = ?3 THEN used + 1 ELSE 1 END, \
                 day = ?3 \
             WHERE day != ?3 OR used < ?4 \
             RETURNING next_slot - ?2 AS slot, {SQL_NOW_MS} AS now"
        );
        self.writer
            .run(async {
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(api)
                    .bind(spacing)
                    .bind(day)
                    .bind(i64::from(daily_limit))
                    .fetch_optional(self.writer.pool())
                    .await?;
                Ok(match row {
                    Some(row) => {
                        let (slot, now): (i64, i64) = (row.try_get("slot")?, row.try_get("now")?);
                        Slot::In(until(now, slot))
                    }
                    None => Slot::DayUsedUp {
                        for_: until(now_ms(), (day + 1) * DAY_MS),
                    },
                })
            })
            .await
    }

    pub async fn requests_used_today(&self, api: &str) -> Result<u64, StoreError> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT CASE WHEN day = ?1 THEN used ELSE 0 END FROM api_quota WHERE api = ?2",
        )
        .bind(now_ms() / DAY_MS)
        .bind(api)
        .fetch_optional(&self.pool)
        .await?;
        Ok(used.map_or(0, |used| u64::try_from(used).unwrap_or_default()))
    }

    pub async fn requests_held_for(&self, api: &str) -> Result<Option<Duration>, StoreError> {
        let until: Option<i64> =
            sqlx::query_scalar("SELECT blocked_until FROM api_quota WHERE api = ?1")
                .bind(api)
                .fetch_optional(&self.pool)
                .await?;
        Ok(until
            .map(|until| self::until(now_ms(), until))
            .filter(|left| !left.is_zero()))
    }

    pub async fn hold_requests(&self, api: &str, length: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        let until = now.saturating_add(millis(length));
        self.writer
            .run(async {
                sqlx::query(
                    "INSERT INTO api_quota (api, next_slot, day, used, blocked_until) \
                     VALUES (?1, 0, ?2, 0, ?3) \
                     ON CONFLICT (api) DO UPDATE SET blocked_until = MAX(blocked_until, ?3)",
                )
                .bind(api)
                .bind(now / DAY_MS)
                .bind(until)
                .execute(self.writer.pool())
                .await?;
                Ok(())
            })
            .await
    }

    pub async fn start_pause(
        &self,
        name: &str,
        length: Duration,
        reason: &str,
    ) -> Result<(), StoreError> {
        let until = now_ms().saturating_add(millis(length));
        self.writer
            .run(async {
                sqlx::query(
                    "INSERT INTO pauses (name, until, reason) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (name) DO UPDATE SET until = excluded.until, \
                         reason = excluded.reason",
                )
                .bind(name)
                .bind(until)
                .bind(reason)
                .execute(self.writer.pool())
                .await?;
                Ok(())
            })
            .await
    }

    pub async fn active_pause(&self, name: &str) -> Result<Option<ActivePause>, StoreError> {
        let now = now_ms();
        let row = sqlx::query("SELECT until, reason FROM pauses WHERE name = ?1 AND until > ?2")
            .bind(name)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let until_ms: i64 = row.try_get("until")?;
            Ok(ActivePause {
                remaining: until(now, until_ms),
                until_unix_ms: until_ms,
                reason: row.try_get("reason")?,
            })
        })
        .transpose()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// From `now` to `then` (Unix ms), zero when `then` has passed.
fn until(now: i64, then: i64) -> Duration {
    Duration::from_millis(u64::try_from(then.saturating_sub(now)).unwrap_or_default())
}
