//! The job queue: claiming with `FOR UPDATE SKIP LOCKED` under a lease, ending attempts.

use std::time::Duration;

use sqlx::postgres::PgConnection;
use sqlx::Row;
use uuid::Uuid;

use super::history::insert_attempt;
use super::rows::{insert_queued, job_from_row, QueuedJob, JOB_COLUMNS};
use super::PgStore;
use crate::store::{Due, Ending, Job, JobOrigin, JobStatus, KeptPlan, StoreError};

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl PgStore {
    pub async fn due(&self, limit: usize) -> Result<Due, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, now_ms() - MIN(due_at) AS waited FROM ( \
                 (SELECT run_after AS due_at FROM jobs \
                  WHERE status = 'queued' AND run_after <= now_ms() LIMIT $1) \
                 UNION ALL \
                 (SELECT locked_until AS due_at FROM jobs \
                  WHERE status = 'running' AND locked_until <= now_ms() LIMIT $1) \
             ) AS due",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_one(&self.pool)
        .await?;
        let count: i64 = row.try_get("n")?;
        let waited: Option<i64> = row.try_get("waited")?;
        Ok(Due {
            count: usize::try_from(count).unwrap_or_default().min(limit),
            longest_wait: waited
                .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or_default())),
        })
    }

    /// The sub-select with `LIMIT` and `SKIP LOCKED` is what bounds the claim: without it the
    /// planner may update more rows than the limit, and replicas claiming at once would wait
    /// for each other's rows instead of taking others.
    pub async fn claim_batch(&self, limit: usize, lease: Duration) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = $1, \
                 locked_until = now_ms() + $2, updated_at = now_ms() \
             WHERE id IN ( \
                 SELECT id FROM jobs \
                 WHERE (status = 'queued' AND run_after <= now_ms()) \
                    OR (status = 'running' AND locked_until <= now_ms()) \
                 ORDER BY run_after, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7().to_string())
            .bind(millis(lease))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by(|a, b| (a.run_after, &a.id).cmp(&(b.run_after, &b.id)));
        Ok(jobs)
    }

    pub async fn claim_job(&self, id: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = $1, \
                 locked_until = now_ms() + $2, updated_at = now_ms() \
             WHERE id = $3 AND status = 'queued' \
             RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7().to_string())
            .bind(millis(lease))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// The batch's endings share one reading of the clock: jobs that failed together come
    /// back due at the same moment, and are claimed as one batch again.
    pub async fn end_jobs(&self, ends: &[(&Job, Ending)]) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let now: i64 = sqlx::query_scalar("SELECT now_ms()")
            .fetch_one(&mut *tx)
            .await?;
        let mut held = Vec::with_capacity(ends.len());
        let mut finished = 0u64;
        for (job, ending) in ends {
            let still_held = match ending {
                Ending::Retry {
                    reason,
                    delay,
                    counts,
                    plan,
                } => {
                    let retry = Requeue {
                        reason,
                        delay: *delay,
                        counts: *counts,
                        plan: plan.as_ref(),
                    };
                    requeue(&mut tx, job, &retry, now).await?
                }
                finish => {
                    let held = finish_job(&mut tx, job, finish, now).await?;
                    finished += u64::from(held);
                    held
                }
            };
            if still_held {
                insert_attempt(&mut tx, job, ending, now).await?;
            }
            held.push(still_held);
        }
        tx.commit().await?;
        self.pending.ended(finished);
        Ok(held)
    }

    pub async fn enqueue_call(
        &self,
        call_id: &str,
        call_data: &str,
        dry_run: bool,
    ) -> Result<String, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let queued = QueuedJob {
            call_id,
            is_test: false,
            call_data,
            content_hash: "",
            dry_run,
            backfill: None,
            origin: JobOrigin::Sync,
        };
        let id = insert_queued(&mut conn, &queued).await?;
        self.pending.added(1);
        self.work_arrived();
        Ok(id)
    }

    pub async fn release(&self, job: &Job) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = GREATEST(attempts - 1, 0), \
                 lease_id = NULL, locked_until = NULL, updated_at = now_ms() \
             WHERE id = $1 AND lease_id = $2",
        )
        .bind(&job.id)
        .bind(&job.lease_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Other replicas may be running jobs right now: nothing is taken from a holder that
    /// may be alive. A dead replica's jobs and record locks are taken over when their leases
    /// run out.
    pub async fn reclaim_orphans(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// A retry to record.
struct Requeue<'a> {
    reason: &'a str,
    delay: Duration,
    counts: bool,
    plan: Option<&'a KeptPlan>,
}

async fn requeue(
    conn: &mut PgConnection,
    job: &Job,
    retry: &Requeue<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let plan = retry.plan.and_then(|plan| serde_json::to_string(plan).ok());
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = GREATEST(attempts - $1, 0), \
             last_error = $2, run_after = $7 + $3, lease_id = NULL, locked_until = NULL, \
             updated_at = $7, plan = $6 \
         WHERE id = $4 AND lease_id = $5",
    )
    .bind(i32::from(!retry.counts))
    .bind(retry.reason)
    .bind(millis(retry.delay))
    .bind(&job.id)
    .bind(&job.lease_id)
    .bind(plan)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

async fn finish_job(
    conn: &mut PgConnection,
    job: &Job,
    ending: &Ending,
    now: i64,
) -> Result<bool, StoreError> {
    let (status, outcome, report) = match ending {
        Ending::Done { summary, report } => (JobStatus::Done, summary, Some(report)),
        Ending::Skipped { reason, report } => (JobStatus::Skipped, reason, report.as_ref()),
        Ending::Dead { reason, report } => (JobStatus::Dead, reason, report.as_ref()),
        Ending::DryRun { summary, report } => (JobStatus::Skipped, summary, Some(report)),
        Ending::Retry { .. } => return Ok(false),
    };
    let dry_run = matches!(ending, Ending::DryRun { .. });
    let last_error = (status == JobStatus::Dead).then_some(outcome);
    let report = report.and_then(|report| serde_json::to_string(report).ok());
    let updated = sqlx::query(
        "UPDATE jobs SET status = $1, outcome = $2, result = $3, \
             last_error = COALESCE($4, last_error), dry_run = dry_run OR $7, \
             lease_id = NULL, locked_until = NULL, updated_at = $8, plan = NULL \
         WHERE id = $5 AND lease_id = $6",
    )
    .bind(status.as_str())
    .bind(outcome)
    .bind(report)
    .bind(last_error)
    .bind(&job.id)
    .bind(&job.lease_id)
    .bind(dry_run)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}
