//! What operators read and do: lists, one job, replays, purges, counts.

use std::time::Duration;

use super::rows::{depth_from_rows, job_from_row, JOB_COLUMNS};
use super::{now_ms, SqliteStore};
use crate::store::{Job, JobStatus, QueueDepth, StoreError};

impl SqliteStore {
    /// Number of deliveries recorded for a job (the first one included).
    pub async fn delivery_count(&self, job_id: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE job_id = ?1")
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Queues a dead job again, with fresh attempts. Records it already wrote stay written;
    /// those that failed are tried again. Returns false when no dead job has this id.
    pub async fn retry_dead(&self, id: &str) -> Result<bool, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut tx = self.writer.begin().await?;
                let updated = sqlx::query(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ?1, outcome = NULL, \
                     lease_id = NULL, locked_until = NULL, updated_at = ?1 \
                 WHERE id = ?2 AND status = 'dead'",
            )
            .bind(now)
            .bind(id)
            .execute(tx.conn())
            .await?;
                if updated.rows_affected() == 1 {
                    sqlx::query("DELETE FROM job_targets WHERE job_id = ?1 AND status = 'dead'")
                        .bind(id)
                        .execute(tx.conn())
                        .await?;
                }
                tx.commit().await?;
                if updated.rows_affected() == 1 {
                    self.pending.added(1);
                    self.work.notify_one();
                }
                Ok(updated.rows_affected() == 1)
            })
            .await
    }

    pub async fn retry_now(&self, id: &str) -> Result<bool, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let updated = sqlx::query(
                    "UPDATE jobs SET run_after = MIN(run_after, ?1), updated_at = ?1 \
                     WHERE id = ?2 AND status = 'queued'",
                )
                .bind(now)
                .bind(id)
                .execute(self.writer.pool())
                .await?;
                if updated.rows_affected() == 1 {
                    self.work.notify_one();
                }
                Ok(updated.rows_affected() == 1)
            })
            .await
    }

    /// The newest jobs, optionally of one status and one call, newest first.
    pub async fn list_jobs(
        &self,
        status: Option<JobStatus>,
        call_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR status = ?1) \
             AND (?2 IS NULL OR call_id = ?2) ORDER BY id DESC LIMIT ?3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.map(JobStatus::as_str))
            .bind(call_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn purge_finished(&self, age: Duration) -> Result<u64, StoreError> {
        self.writer
            .run(async {
                let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                let cutoff = now_ms().saturating_sub(age_ms);
                let deleted = sqlx::query(
                "DELETE FROM jobs WHERE status IN ('done', 'skipped', 'dead') AND updated_at < ?1",
            )
            .bind(cutoff)
            .execute(self.writer.pool())
            .await?;
                Ok(deleted.rows_affected())
            })
            .await
    }

    /// Age of the oldest job waiting in the queue.
    pub async fn oldest_queued_age(&self) -> Result<Option<Duration>, StoreError> {
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM jobs WHERE status = 'queued'")
                .fetch_one(&self.pool)
                .await?;
        Ok(oldest.map(|created| {
            let age = now_ms().saturating_sub(created).max(0);
            Duration::from_millis(u64::try_from(age).unwrap_or_default())
        }))
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// Every job for a call, oldest first.
    pub async fn jobs_for_call(&self, call_id: &str) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE call_id = ?1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(call_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn count_jobs(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        depth_from_rows(&rows)
    }
}
