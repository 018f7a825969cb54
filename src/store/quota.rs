//! Request allowances shared by every process using the store: the service and a backfill
//! running beside it draw their Gong requests from one allowance, spaced and counted here
//! rather than in each process's memory (which a restart would also reset).

use std::time::Duration;

use super::{now_ms, Store, StoreError};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The time when the statement runs, in Unix ms: a reservation may wait behind other writes,
/// and a slot computed from an earlier clock reading would be in the past.
const SQL_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

/// When a request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// At this Unix time (ms); the slot is taken.
    At(i64),
    /// The day's allowance is used up: nothing before this Unix time (ms).
    DayUsedUp { until: i64 },
}

impl Store {
    /// Takes the next request slot for `api`: `spacing` after the previous one, after any
    /// block, and within `daily_limit` requests per UTC day.
    pub async fn reserve_request(
        &self,
        api: &str,
        spacing: Duration,
        daily_limit: u32,
    ) -> Result<Slot, StoreError> {
        self.writer
            .run(async {
                let day = now_ms() / DAY_MS;
                let spacing = i64::try_from(spacing.as_millis()).unwrap_or(i64::MAX);
                let sql = format!(
                    "INSERT INTO api_quota (api, next_slot, day, used, blocked_until) \
                 VALUES (?1, {SQL_NOW_MS} + ?2, ?3, 1, 0) \
                 ON CONFLICT (api) DO UPDATE SET \
                     next_slot = MAX(next_slot, {SQL_NOW_MS}, blocked_until) + ?2, \
                     used = CASE WHEN day = ?3 THEN used + 1 ELSE 1 END, \
                     day = ?3 \
                 WHERE day != ?3 OR used < ?4 \
                 RETURNING next_slot - ?2"
                );
                let slot: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(api)
                    .bind(spacing)
                    .bind(day)
                    .bind(i64::from(daily_limit))
                    .fetch_optional(self.writer.pool())
                    .await?;
                Ok(match slot {
                    Some(at) => Slot::At(at),
                    None => Slot::DayUsedUp {
                        until: (day + 1) * DAY_MS,
                    },
                })
            })
            .await
    }

    /// Until when (Unix ms) every request for `api` is held; in the past when it is not.
    pub async fn requests_blocked_until(&self, api: &str) -> Result<i64, StoreError> {
        let until: Option<i64> =
            sqlx::query_scalar("SELECT blocked_until FROM api_quota WHERE api = ?1")
                .bind(api)
                .fetch_optional(&self.pool)
                .await?;
        Ok(until.unwrap_or_default())
    }

    /// Holds every request for `api` until `until` (Unix ms), e.g. after a 429.
    pub async fn block_requests(&self, api: &str, until: i64) -> Result<(), StoreError> {
        self.writer
            .run(async {
                sqlx::query(
                    "INSERT INTO api_quota (api, next_slot, day, used, blocked_until) \
                 VALUES (?1, 0, ?2, 0, ?3) \
                 ON CONFLICT (api) DO UPDATE SET blocked_until = MAX(blocked_until, ?3)",
                )
                .bind(api)
                .bind(now_ms() / DAY_MS)
                .bind(until)
                .execute(self.writer.pool())
                .await?;
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn stores() -> (tempfile::TempDir, Store, Store) {
        let (dir, url, first) = crate::store::temp_store().await;
        // A second process on the same file.
        let second = Store::connect(&url).await.expect("store");
        (dir, first, second)
    }

    fn at(slot: Slot) -> i64 {
        match slot {
            Slot::At(at) => at,
            Slot::DayUsedUp { .. } => panic!("allowance used up"),
        }
    }

    #[tokio::test]
    async fn processes_on_one_store_share_the_spacing() {
        let (_dir, service, backfill) = stores().await;
        let spacing = Duration::from_millis(340);
        let first = at(service
            .reserve_request("gong", spacing, 100)
            .await
            .expect("slot"));
        let second = at(backfill
            .reserve_request("gong", spacing, 100)
            .await
            .expect("slot"));
        let third = at(service
            .reserve_request("gong", spacing, 100)
            .await
            .expect("slot"));
        assert!(second - first >= 340, "{first} {second}");
        assert!(third - second >= 340, "{second} {third}");
    }

    #[tokio::test]
    async fn the_daily_limit_counts_every_process_and_a_block_delays_the_next_slot() {
        let (_dir, service, backfill) = stores().await;
        let spacing = Duration::from_millis(1);
        at(service
            .reserve_request("gong", spacing, 2)
            .await
            .expect("slot"));
        at(backfill
            .reserve_request("gong", spacing, 2)
            .await
            .expect("slot"));
        let third = service
            .reserve_request("gong", spacing, 2)
            .await
            .expect("slot");
        assert!(
            matches!(third, Slot::DayUsedUp { until } if until % DAY_MS == 0 && until > now_ms())
        );

        let blocked_until = now_ms() + 5_000;
        backfill
            .block_requests("gong", blocked_until)
            .await
            .expect("block");
        let next = at(service
            .reserve_request("gong", spacing, 100)
            .await
            .expect("slot"));
        assert!(next >= blocked_until, "{next} {blocked_until}");
    }
}
