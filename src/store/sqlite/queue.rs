//! The job queue: claiming due jobs with a lease, ending attempts, releasing and recovering.

use std::time::Duration;

use uuid::Uuid;

use super::history::insert_attempt;
use super::rows::{insert_queued, job_from_row, QueuedJob, JOB_COLUMNS};
use super::{now_ms, SqliteStore};
use sqlx::sqlite::SqliteConnection;
use sqlx::Row;

use crate::store::{Due, Ending, Job, JobOrigin, JobStatus, KeptPlan, StoreError};

impl SqliteStore {
    pub async fn due(&self, limit: usize) -> Result<Due, StoreError> {
        let now = now_ms();
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(due_at) AS oldest FROM ( \
                 SELECT CASE status WHEN 'queued' THEN run_after ELSE locked_until END AS due_at \
                 FROM jobs \
                 WHERE (status = 'queued' AND run_after <= ?1) \
                    OR (status = 'running' AND locked_until <= ?1) \
                 LIMIT ?2)",
        )
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_one(&self.pool)
        .await?;
        let count: i64 = row.try_get("n")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok(Due {
            count: usize::try_from(count).unwrap_or_default(),
            longest_wait: oldest.map(|due_at| {
                Duration::from_millis(u64::try_from(now.saturating_sub(due_at)).unwrap_or_default())
            }),
        })
    }

    /// A single UPDATE statement holds SQLite's write lock from the search to the claim, so
    /// two workers never claim the same job. Queued and lease-expired jobs are each read in
    /// index order and only their first `limit` merged: sorting every due job would hold the
    /// write lock for as long as the backlog is deep.
    pub async fn claim_batch(&self, limit: usize, lease: Duration) -> Result<Vec<Job>, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
                let sql = format!(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = ?1, \
                     locked_until = ?2, updated_at = ?3 \
                 WHERE id IN (SELECT id FROM ( \
                                  SELECT * FROM (SELECT id, run_after FROM jobs \
                                      WHERE status = 'queued' AND run_after <= ?3 \
                                      ORDER BY run_after LIMIT ?4) \
                                  UNION ALL \
                                  SELECT * FROM (SELECT id, run_after FROM jobs \
                                      WHERE status = 'running' AND locked_until <= ?3 \
                                      ORDER BY run_after LIMIT ?4)) \
                              ORDER BY run_after, id LIMIT ?4) \
                 RETURNING {JOB_COLUMNS}"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(Uuid::now_v7().to_string())
                    .bind(now.saturating_add(lease_ms))
                    .bind(now)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(self.writer.pool())
                    .await?;
                let mut jobs = rows
                    .iter()
                    .map(job_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                jobs.sort_by(|a, b| (a.run_after, &a.id).cmp(&(b.run_after, &b.id)));
                Ok(jobs)
            })
            .await
    }

    /// Records how each claimed job leaves its attempt, all in one transaction. Returns, per
    /// job, whether this worker still held its lease (if not, another worker took the job
    /// over after this one stalled, and the other worker's result stands).
    pub async fn end_jobs(&self, ends: &[(&Job, Ending)]) -> Result<Vec<bool>, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut tx = self.writer.begin().await?;
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
                            requeue(tx.conn(), job, &retry, now).await?
                        }
                        finish => {
                            let held = finish_job(tx.conn(), job, finish, now).await?;
                            finished += u64::from(held);
                            held
                        }
                    };
                    if still_held {
                        insert_attempt(tx.conn(), job, ending, now).await?;
                    }
                    held.push(still_held);
                }
                tx.commit().await?;
                self.pending.ended(finished);
                Ok(held)
            })
            .await
    }

    /// Queues a job for `call_id` at once, whatever jobs the call had before: an operator
    /// asked for it (`competitor-sync sync`). `call_data` is what is known of the call; a
    /// `dry_run` job writes nothing, whoever runs it.
    pub async fn enqueue_call(
        &self,
        call_id: &str,
        call_data: &str,
        dry_run: bool,
    ) -> Result<String, StoreError> {
        self.writer
            .run(async {
                let mut writer = self.writer.pool().acquire().await?;
                let queued = QueuedJob {
                    call_id,
                    is_test: false,
                    call_data,
                    content_hash: "",
                    dry_run,
                    backfill: None,
                    origin: JobOrigin::Sync,
                };
                let id = insert_queued(&mut writer, &queued, now_ms()).await?;
                self.pending.added(1);
                self.work.notify_one();
                Ok(id)
            })
            .await
    }

    /// Claims one queued job by id, for `lease`; `None` when it is not queued (another
    /// process claimed it, or it finished).
    pub async fn claim_job(&self, id: &str, lease: Duration) -> Result<Option<Job>, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
                let sql = format!(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = ?1, \
                     locked_until = ?2, updated_at = ?3 \
                 WHERE id = ?4 AND status = 'queued' \
                 RETURNING {JOB_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(Uuid::now_v7().to_string())
                    .bind(now.saturating_add(lease_ms))
                    .bind(now)
                    .bind(id)
                    .fetch_optional(self.writer.pool())
                    .await?;
                row.map(|row| job_from_row(&row)).transpose()
            })
            .await
    }

    /// Returns a job that was interrupted (shutdown) to the queue without counting the
    /// interrupted attempt.
    pub async fn release(&self, job: &Job) -> Result<(), StoreError> {
        self.writer
            .run(async {
                sqlx::query(
                    "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), \
                     lease_id = NULL, locked_until = NULL, updated_at = ?1 \
                 WHERE id = ?2 AND lease_id = ?3",
                )
                .bind(now_ms())
                .bind(&job.id)
                .bind(&job.lease_id)
                .execute(self.writer.pool())
                .await?;
                Ok(())
            })
            .await
    }

    /// One service process owns a SQLite store, so at its start-up anything still running
    /// or locked was left by a process that died (crash, `kill -9`).
    pub async fn reclaim_orphans(&self) -> Result<u64, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut tx = self.writer.begin().await?;
                let requeued = sqlx::query(
                    "UPDATE jobs SET status = 'queued', lease_id = NULL, locked_until = NULL, \
                     run_after = ?1, updated_at = ?1 WHERE status = 'running'",
                )
                .bind(now)
                .execute(tx.conn())
                .await?;
                sqlx::query("DELETE FROM record_locks")
                    .execute(tx.conn())
                    .await?;
                tx.commit().await?;
                Ok(requeued.rows_affected())
            })
            .await
    }
}

/// A retry to record.
struct Requeue<'a> {
    reason: &'a str,
    delay: Duration,
    counts: bool,
    plan: Option<&'a KeptPlan>,
}

/// Queues `job` again if its lease is still held; returns whether it was.
async fn requeue(
    conn: &mut SqliteConnection,
    job: &Job,
    retry: &Requeue<'_>,
    now: i64,
) -> Result<bool, StoreError> {
    let delay_ms = i64::try_from(retry.delay.as_millis()).unwrap_or(i64::MAX);
    let plan = retry.plan.and_then(|plan| serde_json::to_string(plan).ok());
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - ?1, 0), \
             last_error = ?2, run_after = ?3, lease_id = NULL, locked_until = NULL, \
             updated_at = ?4, plan = ?7 \
         WHERE id = ?5 AND lease_id = ?6",
    )
    .bind(i64::from(!retry.counts))
    .bind(retry.reason)
    .bind(now.saturating_add(delay_ms))
    .bind(now)
    .bind(&job.id)
    .bind(&job.lease_id)
    .bind(plan)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Records how `job` finished if its lease is still held; returns whether it was.
async fn finish_job(
    conn: &mut SqliteConnection,
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
        "UPDATE jobs SET status = ?1, outcome = ?2, result = ?3, \
             last_error = COALESCE(?4, last_error), dry_run = MAX(dry_run, ?8), \
             lease_id = NULL, locked_until = NULL, updated_at = ?5, plan = NULL \
         WHERE id = ?6 AND lease_id = ?7",
    )
    .bind(status.as_str())
    .bind(outcome)
    .bind(report)
    .bind(last_error)
    .bind(now)
    .bind(&job.id)
    .bind(&job.lease_id)
    .bind(dry_run)
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}
