//! The `sweeps` table, and queueing calls that have no job, on the database's clock.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::Row;

use super::accept::lock_calls;
use super::rows::{insert_queued, QueuedJob};
use super::PgStore;
use crate::store::{JobOrigin, ListedCall, StoreError, SweepStatus};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl PgStore {
    pub async fn try_start_sweep(
        &self,
        name: &str,
        holder: &str,
        every: Duration,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let started = sqlx::query(
            "INSERT INTO sweeps AS s (name, holder, held_until, last_started) \
             VALUES ($1, $2, now_ms() + $3, now_ms()) \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
                 held_until = EXCLUDED.held_until, last_started = EXCLUDED.last_started \
             WHERE (s.held_until <= now_ms() OR s.holder = EXCLUDED.holder) \
                 AND s.last_started + $4 <= now_ms()",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(lease))
        .bind(millis(every))
        .execute(&self.pool)
        .await?;
        Ok(started.rows_affected() == 1)
    }

    pub async fn finish_sweep(
        &self,
        name: &str,
        holder: &str,
        outcome: &str,
        success: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sweeps SET holder = NULL, held_until = 0, last_outcome = $1, \
                 last_success = CASE WHEN $2 THEN now_ms() ELSE last_success END \
             WHERE name = $3 AND holder = $4",
        )
        .bind(outcome)
        .bind(success)
        .bind(name)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sweep_status(&self, name: &str) -> Result<Option<SweepStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT last_started, last_success, last_outcome FROM sweeps WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(SweepStatus {
                last_started_unix_ms: row.try_get("last_started")?,
                last_success_unix_ms: row.try_get("last_success")?,
                last_outcome: row.try_get("last_outcome")?,
            })
        })
        .transpose()
    }

    pub async fn deliveries_due(&self) -> Result<bool, StoreError> {
        let due: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM jobs WHERE status = 'queued' AND run_after <= now_ms() \
                 AND origin = $1 LIMIT 1",
        )
        .bind(JobOrigin::Webhook.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(due.is_some())
    }

    pub async fn calls_with_jobs(&self, call_ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let known: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT call_id FROM jobs WHERE call_id = ANY($1)")
                .bind(call_ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(known.into_iter().collect())
    }

    /// Holds each listed call's lock, as a delivery does.
    pub async fn enqueue_unknown(
        &self,
        calls: &[ListedCall],
        origin: JobOrigin,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_calls(&mut tx, calls.iter().map(|call| call.call_id.as_str())).await?;
        let ids: Vec<&str> = calls.iter().map(|call| call.call_id.as_str()).collect();
        let known: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT call_id FROM jobs WHERE call_id = ANY($1)")
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
        let mut queued = Vec::new();
        for call in calls {
            if known.contains(&call.call_id) || queued.contains(&call.call_id) {
                continue;
            }
            let job = QueuedJob {
                call_id: &call.call_id,
                is_test: false,
                call_data: &call.call_data,
                content_hash: "",
                dry_run: false,
                backfill: None,
                origin,
            };
            insert_queued(&mut tx, &job).await?;
            queued.push(call.call_id.clone());
        }
        tx.commit().await?;
        self.pending
            .added(u64::try_from(queued.len()).unwrap_or_default());
        if !queued.is_empty() {
            self.work_arrived();
        }
        Ok(queued)
    }
}
