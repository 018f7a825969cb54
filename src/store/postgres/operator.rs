//! What operators read and do, over every replica's jobs.

use std::time::Duration;

use super::rows::{depth_from_rows, job_from_row, JOB_COLUMNS};
use super::PgStore;
use crate::store::{Job, JobStatus, QueueDepth, StoreError};

impl PgStore {
    pub async fn delivery_count(&self, job_id: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE job_id = $1")
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    pub async fn retry_now(&self, id: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE jobs SET run_after = LEAST(run_after, now_ms()), updated_at = now_ms() \
             WHERE id = $1 AND status = 'queued'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 1 {
            self.work_arrived();
        }
        Ok(updated.rows_affected() == 1)
    }

    pub async fn retry_dead(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = now_ms(), \
                 outcome = NULL, lease_id = NULL, locked_until = NULL, updated_at = now_ms() \
             WHERE id = $1 AND status = 'dead'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let retried = updated.rows_affected() == 1;
        if retried {
            sqlx::query("DELETE FROM job_targets WHERE job_id = $1 AND status = 'dead'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if retried {
            self.pending.added(1);
            self.work_arrived();
        }
        Ok(retried)
    }

    pub async fn list_jobs(
        &self,
        status: Option<JobStatus>,
        call_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1::TEXT IS NULL OR status = $1) \
             AND ($2::TEXT IS NULL OR call_id = $2) ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.map(JobStatus::as_str))
            .bind(call_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn purge_finished(&self, age: Duration) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'skipped', 'dead') \
             AND updated_at < now_ms() - $1",
        )
        .bind(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    pub async fn oldest_queued_age(&self) -> Result<Option<Duration>, StoreError> {
        let age: Option<i64> = sqlx::query_scalar(
            "SELECT now_ms() - MIN(created_at) FROM jobs WHERE status = 'queued'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(age.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or_default())))
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    pub async fn jobs_for_call(&self, call_id: &str) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE call_id = $1 ORDER BY id");
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
