//! The Gong allowance (`api_quota`) and pauses (`pauses`), on the database's clock. A slot
//! is reserved by updating the API's one row, which serialises every replica's reservations:
//! no slot is handed out twice, and no replica spends the budget against a stale snapshot.

use std::time::Duration;

use sqlx::Row;

use super::PgStore;
use crate::store::{ActivePause, Slot, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}

impl PgStore {
    pub async fn reserve_request(
        &self,
        api: &str,
        spacing: Duration,
        daily_limit: u32,
    ) -> Result<Slot, StoreError> {
        let row = sqlx::query(
            "WITH clock AS (SELECT now_ms() AS now, now_ms() / $3 AS today) \
             INSERT INTO api_quota AS q (api, next_slot, day, used, blocked_until) \
             SELECT $1, clock.now + $2, clock.today, 1, 0 FROM clock \
             ON CONFLICT (api) DO UPDATE SET \
                 next_slot = GREATEST(q.next_slot, now_ms(), q.blocked_until) + $2, \
                 used = CASE WHEN q.day = EXCLUDED.day THEN q.used + 1 ELSE 1 END, \
                 day = EXCLUDED.day \
             WHERE q.day <> EXCLUDED.day OR q.used < $4 \
             RETURNING next_slot - $2 - now_ms() AS wait",
        )
        .bind(api)
        .bind(millis(spacing))
        .bind(DAY_MS)
        .bind(i64::from(daily_limit))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Slot::In(duration(row.try_get("wait")?))),
            None => {
                let left: i64 = sqlx::query_scalar("SELECT $1 - now_ms() % $1")
                    .bind(DAY_MS)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(Slot::DayUsedUp {
                    for_: duration(left),
                })
            }
        }
    }

    pub async fn requests_used_today(&self, api: &str) -> Result<u64, StoreError> {
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT CASE WHEN day = now_ms() / $2 THEN used ELSE 0 END FROM api_quota \
             WHERE api = $1",
        )
        .bind(api)
        .bind(DAY_MS)
        .fetch_optional(&self.pool)
        .await?;
        Ok(used.map_or(0, |used| u64::try_from(used).unwrap_or_default()))
    }

    pub async fn requests_held_for(&self, api: &str) -> Result<Option<Duration>, StoreError> {
        let left: Option<i64> = sqlx::query_scalar(
            "SELECT blocked_until - now_ms() FROM api_quota \
             WHERE api = $1 AND blocked_until > now_ms()",
        )
        .bind(api)
        .fetch_optional(&self.pool)
        .await?;
        Ok(left.map(duration))
    }

    pub async fn hold_requests(&self, api: &str, length: Duration) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_quota AS q (api, next_slot, day, used, blocked_until) \
             VALUES ($1, 0, now_ms() / $3, 0, now_ms() + $2) \
             ON CONFLICT (api) DO UPDATE SET \
                 blocked_until = GREATEST(q.blocked_until, EXCLUDED.blocked_until)",
        )
        .bind(api)
        .bind(millis(length))
        .bind(DAY_MS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn start_pause(
        &self,
        name: &str,
        length: Duration,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pauses (name, until, reason) VALUES ($1, now_ms() + $2, $3) \
             ON CONFLICT (name) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason",
        )
        .bind(name)
        .bind(millis(length))
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn active_pause(&self, name: &str) -> Result<Option<ActivePause>, StoreError> {
        let row = sqlx::query(
            "SELECT until, until - now_ms() AS remaining, reason FROM pauses \
             WHERE name = $1 AND until > now_ms()",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ActivePause {
                remaining: duration(row.try_get("remaining")?),
                until_unix_ms: row.try_get("until")?,
                reason: row.try_get("reason")?,
            })
        })
        .transpose()
    }
}
