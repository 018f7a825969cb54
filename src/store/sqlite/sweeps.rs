//! The `sweeps` table, and queueing calls that have no job.

use std::collections::HashSet;
use std::time::Duration;

use sqlx::Row;

use super::rows::{insert_queued, QueuedJob};
use super::{now_ms, SqliteStore};
use crate::store::{JobOrigin, ListedCall, StoreError, SweepStatus};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl SqliteStore {
    pub async fn try_start_sweep(
        &self,
        name: &str,
        holder: &str,
        every: Duration,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        self.writer
            .run(async {
                let started = sqlx::query(
                    "INSERT INTO sweeps (name, holder, held_until, last_started) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                         held_until = excluded.held_until, last_started = excluded.last_started \
                     WHERE (sweeps.held_until <= ?4 OR sweeps.holder = excluded.holder) \
                         AND sweeps.last_started + ?5 <= ?4",
                )
                .bind(name)
                .bind(holder)
                .bind(now.saturating_add(millis(lease)))
                .bind(now)
                .bind(millis(every))
                .execute(self.writer.pool())
                .await?;
                Ok(started.rows_affected() == 1)
            })
            .await
    }

    pub async fn finish_sweep(
        &self,
        name: &str,
        holder: &str,
        outcome: &str,
        success: bool,
    ) -> Result<(), StoreError> {
        self.writer
            .run(async {
                sqlx::query(
                    "UPDATE sweeps SET holder = NULL, held_until = 0, last_outcome = ?1, \
                         last_success = CASE WHEN ?2 THEN ?3 ELSE last_success END \
                     WHERE name = ?4 AND holder = ?5",
                )
                .bind(outcome)
                .bind(success)
                .bind(now_ms())
                .bind(name)
                .bind(holder)
                .execute(self.writer.pool())
                .await?;
                Ok(())
            })
            .await
    }

    pub async fn sweep_status(&self, name: &str) -> Result<Option<SweepStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT last_started, last_success, last_outcome FROM sweeps WHERE name = ?1",
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
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM jobs WHERE status = 'queued' AND run_after <= ?1 AND origin = ?2 \
             LIMIT 1",
        )
        .bind(now_ms())
        .bind(JobOrigin::Webhook.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(due.is_some())
    }

    pub async fn calls_with_jobs(&self, call_ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let ids = serde_json::to_string(call_ids).unwrap_or_else(|_| "[]".to_owned());
        let known: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT call_id FROM jobs WHERE call_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(known.into_iter().collect())
    }

    /// One write transaction: no delivery can be decided between the check and the insert.
    pub async fn enqueue_unknown(
        &self,
        calls: &[ListedCall],
        origin: JobOrigin,
    ) -> Result<Vec<String>, StoreError> {
        let now = now_ms();
        self.writer
            .run(async {
                let mut tx = self.writer.begin().await?;
                let mut queued = Vec::new();
                for call in calls {
                    let known: Option<i64> =
                        sqlx::query_scalar("SELECT 1 FROM jobs WHERE call_id = ?1 LIMIT 1")
                            .bind(&call.call_id)
                            .fetch_optional(tx.conn())
                            .await?;
                    if known.is_some() {
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
                    insert_queued(tx.conn(), &job, now).await?;
                    queued.push(call.call_id.clone());
                }
                tx.commit().await?;
                self.pending
                    .added(u64::try_from(queued.len()).unwrap_or_default());
                if !queued.is_empty() {
                    self.work.notify_one();
                }
                Ok(queued)
            })
            .await
    }
}
