//! The `jobs` and `field_writes` tables.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteConnection;
use sqlx::Row;
use uuid::Uuid;

use super::{now_ms, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Skipped,
    Dead,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Done,
        Self::Skipped,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A webhook accepted for processing.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub call_id: &'a str,
    pub is_test: bool,
    /// The webhook's `callData`, kept verbatim.
    pub call_data: &'a str,
    /// Identifies the inputs: two deliveries with the same hash produce the same writes.
    pub content_hash: &'a str,
    /// The sender's message id (Standard Webhooks `webhook-id`), when it sends one: a
    /// redelivery of a known message is a duplicate whatever its content.
    pub webhook_id: Option<&'a str>,
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// A new job was queued.
    New,
    /// The call already had a queued or running job; the delivery joined it.
    Joined,
    /// The call was already processed with the same inputs; nothing new to do.
    Duplicate,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Joined => "joined",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The job a delivery belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub job_id: String,
    pub disposition: Disposition,
}

/// The outcome of one record a job writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub object: String,
    pub record_id: String,
    pub status: TargetStatus,
    /// What was written, or why it failed.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    Done,
    Dead,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub call_id: String,
    pub is_test: bool,
    #[serde(skip)]
    pub call_data: String,
    pub status: JobStatus,
    pub attempts: u32,
    #[serde(skip)]
    pub lease_id: Option<String>,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub result: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub run_after: i64,
    /// Finished under dry run: nothing was written to the CRM.
    pub dry_run: bool,
    /// What an earlier attempt planned once it had fetched the call (JSON, as the worker
    /// wrote it): a retry caused by Salesforce alone writes from it without asking Gong.
    #[serde(skip)]
    pub plan: Option<String>,
}

/// One field value written to the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub object: String,
    pub record_id: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
}

/// How a claimed job ends.
#[derive(Debug, Clone)]
pub enum Finish {
    Done {
        outcome: String,
        result: serde_json::Value,
    },
    Skipped {
        reason: String,
        result: Option<serde_json::Value>,
    },
    Dead {
        reason: String,
        result: Option<serde_json::Value>,
    },
    /// Dry run: everything but the CRM write. Stored as skipped, with what would have been
    /// written in `result`; never counts as done for later deliveries of the call.
    DryRun {
        outcome: String,
        result: serde_json::Value,
    },
}

/// How a claimed job leaves an attempt.
#[derive(Debug, Clone)]
pub enum JobEnd {
    /// The job is over: done, skipped or dead.
    Finish(Finish),
    /// Back to the queue, due after `delay`, giving back `refund` attempts (1 when the
    /// attempt could not run: a pause, a rate limit, another job writing the same record),
    /// keeping `plan` (see [`Job::plan`]) when the attempt got that far.
    Requeue {
        reason: String,
        delay: Duration,
        refund: u32,
        plan: Option<String>,
    },
}

/// One record's outcome for a job, with the values written to it.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub job: &'a Job,
    pub target: Target,
    pub writes: Vec<FieldWrite>,
}

/// Jobs per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub queued: u64,
    pub running: u64,
    pub done: u64,
    pub skipped: u64,
    pub dead: u64,
}

impl QueueDepth {
    pub fn get(&self, status: JobStatus) -> u64 {
        match status {
            JobStatus::Queued => self.queued,
            JobStatus::Running => self.running,
            JobStatus::Done => self.done,
            JobStatus::Skipped => self.skipped,
            JobStatus::Dead => self.dead,
        }
    }
}

const JOB_COLUMNS: &str = "id, call_id, is_test, call_data, status, attempts, lease_id, \
                           last_error, outcome, result, created_at, updated_at, run_after, \
                           dry_run, plan";

impl Store {
    /// Number of deliveries recorded for a job (the first one included).
    pub async fn delivery_count(&self, job_id: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE job_id = ?1")
            .bind(job_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// How many jobs are due (up to `limit`), and since when the longest-waiting one is due
    /// (Unix ms). A job is due when it is queued and its time has come, or when it is running
    /// under a lease that ran out (its worker died).
    pub async fn due(&self, limit: usize) -> Result<(usize, Option<i64>), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(due_at) AS oldest FROM ( \
                 SELECT CASE status WHEN 'queued' THEN run_after ELSE locked_until END AS due_at \
                 FROM jobs \
                 WHERE (status = 'queued' AND run_after <= ?1) \
                    OR (status = 'running' AND locked_until <= ?1) \
                 LIMIT ?2)",
        )
        .bind(now_ms())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_one(&self.pool)
        .await?;
        let count: i64 = row.try_get("n")?;
        Ok((
            usize::try_from(count).unwrap_or_default(),
            row.try_get("oldest")?,
        ))
    }

    /// Takes up to `limit` due jobs, longest-waiting first, for `lease`. A single UPDATE
    /// statement holds SQLite's write lock from the search to the claim, so two workers never
    /// claim the same job. Queued and lease-expired jobs are each read in index order and
    /// only their first `limit` merged: sorting every due job would hold the write lock for
    /// as long as the backlog is deep.
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

    /// Records the outcome of records, and the field values written to them, in one
    /// transaction, as soon as the CRM confirmed them. A retried job skips records already
    /// resolved.
    pub async fn resolve_targets(&self, resolutions: &[Resolution<'_>]) -> Result<(), StoreError> {
        self.writer
            .run(async {
            let now = now_ms();
            let mut tx = self.writer.begin().await?;
            for Resolution {
                job,
                target,
                writes,
            } in resolutions
            {
                for write in writes {
                    sqlx::query(
                        "INSERT INTO field_writes (job_id, call_id, object, record_id, field, old_value, new_value, written_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .bind(&job.id)
                    .bind(&job.call_id)
                    .bind(&write.object)
                    .bind(&write.record_id)
                    .bind(&write.field)
                    .bind(&write.old_value)
                    .bind(&write.new_value)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO job_targets (job_id, object, record_id, status, detail, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (job_id, object, record_id) DO UPDATE SET status = excluded.status, \
                         detail = excluded.detail, updated_at = excluded.updated_at",
                )
                .bind(&job.id)
                .bind(&target.object)
                .bind(&target.record_id)
                .bind(match target.status {
                    TargetStatus::Done => "done",
                    TargetStatus::Dead => "dead",
                })
                .bind(&target.detail)
                .bind(now)
                .execute(tx.conn())
                .await?;
            }
            tx.commit().await?;
            Ok(())
            })
            .await
    }

    /// The records a job has resolved so far.
    pub async fn targets(&self, job_id: &str) -> Result<Vec<Target>, StoreError> {
        let rows = sqlx::query(
            "SELECT object, record_id, status, detail FROM job_targets WHERE job_id = ?1 \
             ORDER BY updated_at, record_id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(Target {
                    object: row.try_get("object")?,
                    record_id: row.try_get("record_id")?,
                    status: if status == "dead" {
                        TargetStatus::Dead
                    } else {
                        TargetStatus::Done
                    },
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }

    /// Records how each claimed job leaves its attempt, all in one transaction. Returns, per
    /// job, whether this worker still held its lease (if not, another worker took the job
    /// over after this one stalled, and the other worker's result stands).
    pub async fn end_jobs(&self, ends: &[(&Job, JobEnd)]) -> Result<Vec<bool>, StoreError> {
        self.writer
            .run(async {
            let now = now_ms();
            let mut tx = self.writer.begin().await?;
            let mut held = Vec::with_capacity(ends.len());
            let mut finished = 0u64;
            for (job, end) in ends {
                let updated = match end {
                    JobEnd::Finish(finish) => {
                        let (status, outcome, result) = match finish {
                            Finish::Done { outcome, result } => {
                                (JobStatus::Done, outcome, Some(result))
                            }
                            Finish::Skipped { reason, result } => {
                                (JobStatus::Skipped, reason, result.as_ref())
                            }
                            Finish::Dead { reason, result } => {
                                (JobStatus::Dead, reason, result.as_ref())
                            }
                            Finish::DryRun { outcome, result } => {
                                (JobStatus::Skipped, outcome, Some(result))
                            }
                        };
                        let dry_run = matches!(finish, Finish::DryRun { .. });
                        let last_error = (status == JobStatus::Dead).then_some(outcome);
                        sqlx::query(
                            "UPDATE jobs SET status = ?1, outcome = ?2, result = ?3, \
                                 last_error = COALESCE(?4, last_error), dry_run = MAX(dry_run, ?8), \
                                 lease_id = NULL, locked_until = NULL, updated_at = ?5, plan = NULL \
                             WHERE id = ?6 AND lease_id = ?7",
                        )
                        .bind(status.as_str())
                        .bind(outcome)
                        .bind(result.map(|r| r.to_string()))
                        .bind(last_error)
                        .bind(now)
                        .bind(&job.id)
                        .bind(&job.lease_id)
                        .bind(dry_run)
                        .execute(tx.conn())
                        .await?
                    }
                    JobEnd::Requeue {
                        reason,
                        delay,
                        refund,
                        plan,
                    } => {
                        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                        sqlx::query(
                            "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - ?1, 0), \
                                 last_error = ?2, run_after = ?3, lease_id = NULL, locked_until = NULL, \
                                 updated_at = ?4, plan = ?7 \
                             WHERE id = ?5 AND lease_id = ?6",
                        )
                        .bind(refund)
                        .bind(reason)
                        .bind(now.saturating_add(delay_ms))
                        .bind(now)
                        .bind(&job.id)
                        .bind(&job.lease_id)
                        .bind(plan)
                        .execute(tx.conn())
                        .await?
                    }
                };
                let still_held = updated.rows_affected() == 1;
                if still_held && matches!(end, JobEnd::Finish(_)) {
                    finished += 1;
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
                };
                let id = insert_queued(&mut writer, &queued, now_ms()).await?;
                self.pending.added(1);
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

    /// At start-up, returns jobs left running by a process that died (crash, `kill -9`) to the
    /// queue at once rather than after their lease. One service process owns the store, so
    /// any job still marked running at start-up is an orphan. The interrupted attempt counts:
    /// a job that crashes the process must still end up dead.
    pub async fn recover_interrupted(&self) -> Result<u64, StoreError> {
        self.writer
            .run(async {
                let done = sqlx::query(
                    "UPDATE jobs SET status = 'queued', lease_id = NULL, locked_until = NULL, \
                     run_after = ?1, updated_at = ?1 WHERE status = 'running'",
                )
                .bind(now_ms())
                .execute(self.writer.pool())
                .await?;
                Ok(done.rows_affected())
            })
            .await
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

    /// Queues every dead job again (see [`Store::retry_dead`]). Returns how many.
    pub async fn retry_all_dead(&self) -> Result<u64, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "DELETE FROM job_targets WHERE status = 'dead' \
                 AND job_id IN (SELECT id FROM jobs WHERE status = 'dead')",
                )
                .execute(tx.conn())
                .await?;
                let updated = sqlx::query(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ?1, outcome = NULL, \
                     lease_id = NULL, locked_until = NULL, updated_at = ?1 \
                 WHERE status = 'dead'",
            )
            .bind(now)
            .execute(tx.conn())
            .await?;
                tx.commit().await?;
                self.pending.added(updated.rows_affected());
                Ok(updated.rows_affected())
            })
            .await
    }

    /// Deletes jobs that ended (done, skipped or dead) more than `age` ago, with their
    /// deliveries, record outcomes and audit rows. Queued and running jobs are never removed.
    /// Returns how many jobs were deleted.
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

    /// The field values a job wrote, in order.
    pub async fn writes_for_job(&self, job_id: &str) -> Result<Vec<FieldWrite>, StoreError> {
        let rows = sqlx::query(
            "SELECT object, record_id, field, old_value, new_value FROM field_writes \
             WHERE job_id = ?1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FieldWrite {
                    object: row.try_get("object")?,
                    record_id: row.try_get("record_id")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                })
            })
            .collect()
    }

    pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        depth_from_rows(&rows)
    }
}

/// A job to insert, queued and due at once.
pub(super) struct QueuedJob<'a> {
    pub call_id: &'a str,
    pub is_test: bool,
    pub call_data: &'a str,
    /// Empty for jobs no delivery is compared with (operator-queued ones).
    pub content_hash: &'a str,
    pub dry_run: bool,
    /// The backfill range that queued it.
    pub backfill: Option<&'a str>,
}

/// Inserts `job` as queued, due at `now`; returns its new id.
pub(super) async fn insert_queued(
    conn: &mut SqliteConnection,
    job: &QueuedJob<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO jobs (id, call_id, is_test, call_data, content_hash, status, run_after, \
             created_at, updated_at, dry_run, backfill) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6, ?7, ?8)",
    )
    .bind(&id)
    .bind(job.call_id)
    .bind(job.is_test)
    .bind(job.call_data)
    .bind(job.content_hash)
    .bind(now)
    .bind(job.dry_run)
    .bind(job.backfill)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Rows of `status, COUNT(*) AS n ... GROUP BY status` as counts per status.
pub(super) fn depth_from_rows(rows: &[sqlx::sqlite::SqliteRow]) -> Result<QueueDepth, StoreError> {
    let mut depth = QueueDepth::default();
    for row in rows {
        let status: String = row.try_get("status")?;
        let count = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or_default();
        match JobStatus::parse(&status) {
            Some(JobStatus::Queued) => depth.queued = count,
            Some(JobStatus::Running) => depth.running = count,
            Some(JobStatus::Done) => depth.done = count,
            Some(JobStatus::Skipped) => depth.skipped = count,
            Some(JobStatus::Dead) => depth.dead = count,
            None => {}
        }
    }
    Ok(depth)
}

fn job_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Job, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |problem: String| StoreError::Corrupt {
        id: id.clone(),
        problem,
    };
    let status: String = row.try_get("status")?;
    let status =
        JobStatus::parse(&status).ok_or_else(|| corrupt(format!("unknown status `{status}`")))?;
    let result = row
        .try_get::<Option<String>, _>("result")?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| corrupt(format!("result is not JSON: {e}")))?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Job {
        call_id: row.try_get("call_id")?,
        is_test: row.try_get("is_test")?,
        call_data: row.try_get("call_data")?,
        status,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        lease_id: row.try_get("lease_id")?,
        last_error: row.try_get("last_error")?,
        outcome: row.try_get("outcome")?,
        result,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        run_after: row.try_get("run_after")?,
        dry_run: row.try_get("dry_run")?,
        plan: row.try_get("plan")?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-job forms of the batch methods, for these tests.
    impl Store {
        async fn finish(&self, job: &Job, finish: Finish) -> Result<bool, StoreError> {
            Ok(self.end_jobs(&[(job, JobEnd::Finish(finish))]).await?[0])
        }

        async fn retry_later(
            &self,
            job: &Job,
            reason: &str,
            delay: Duration,
        ) -> Result<bool, StoreError> {
            let reason = reason.to_owned();
            let end = JobEnd::Requeue {
                reason,
                delay,
                refund: 0,
                plan: None,
            };
            Ok(self.end_jobs(&[(job, end)]).await?[0])
        }

        async fn resolve_target(
            &self,
            job: &Job,
            target: &Target,
            writes: &[FieldWrite],
        ) -> Result<(), StoreError> {
            let writes = writes.to_vec();
            let target = target.clone();
            self.resolve_targets(&[Resolution {
                job,
                target,
                writes,
            }])
            .await
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/nested/dir/jobs.db", dir.path().display());
        let store = Store::connect(&url).await.expect("store opens");
        (dir, store)
    }

    fn new_job(call_id: &str) -> NewJob<'_> {
        with_hash(call_id, "hash-1")
    }

    fn with_hash<'a>(call_id: &'a str, content_hash: &'a str) -> NewJob<'a> {
        NewJob {
            call_id,
            is_test: false,
            call_data: r#"{"metaData":{"id":"1"}}"#,
            content_hash,
            webhook_id: None,
        }
    }

    #[tokio::test]
    async fn a_known_webhook_id_marks_a_duplicate_only_of_the_same_payload() {
        let (_dir, store) = store().await;
        let message = |job: NewJob<'static>| NewJob {
            webhook_id: Some("msg_1"),
            ..job
        };
        let id = enqueue(&store, message(new_job("42"))).await;
        let redelivered = store.accept(message(new_job("42"))).await.expect("accept");
        assert_eq!(
            redelivered,
            Delivery {
                job_id: id.clone(),
                disposition: Disposition::Duplicate
            }
        );
        // The sender reused the id for another call: new work, not a duplicate of call 42.
        let other_call = store.accept(message(new_job("43"))).await.expect("accept");
        assert_eq!(other_call.disposition, Disposition::New);
        assert_ne!(other_call.job_id, id);
        // Changed content for the same call joins its waiting job like any delivery.
        let changed = store
            .accept(message(with_hash("42", "hash-2")))
            .await
            .expect("accept");
        assert_eq!(
            changed,
            Delivery {
                job_id: id,
                disposition: Disposition::Joined
            }
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_new_jobs_but_not_joins() {
        let (_dir, store) = store().await;
        let store = store.with_max_queued(Some(2));
        enqueue(&store, new_job("1")).await;
        enqueue(&store, new_job("2")).await;
        let refused = store.accept(new_job("3")).await;
        assert!(
            matches!(refused, Err(StoreError::QueueFull { limit: 2 })),
            "{refused:?}"
        );
        let joined = store.accept(with_hash("1", "hash-2")).await.expect("joins");
        assert_eq!(joined.disposition, Disposition::Joined);
        assert_eq!(store.count_jobs().await.expect("count"), 2);
    }

    async fn enqueue(store: &Store, job: NewJob<'_>) -> String {
        let delivery = store.accept(job).await.expect("accept");
        assert_eq!(delivery.disposition, Disposition::New);
        delivery.job_id
    }

    async fn claim(store: &Store) -> Job {
        claim_for(store, Duration::from_secs(60))
            .await
            .expect("a job is due")
    }

    async fn claim_for(store: &Store, lease: Duration) -> Option<Job> {
        store.claim_batch(1, lease).await.expect("claim").pop()
    }

    #[tokio::test]
    async fn batches_are_claimed_oldest_first_and_only_once() {
        let (_dir, store) = store().await;
        for n in 0..5 {
            enqueue(&store, new_job(&n.to_string())).await;
        }
        assert_eq!(store.due(3).await.expect("due").0, 3);
        let first = store
            .claim_batch(3, Duration::from_secs(60))
            .await
            .expect("claim");
        let ids: Vec<&str> = first.iter().map(|j| j.call_id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2"]);
        let second = store
            .claim_batch(3, Duration::from_secs(60))
            .await
            .expect("claim");
        assert_eq!(second.len(), 2);
        assert!(store
            .claim_batch(3, Duration::from_secs(60))
            .await
            .expect("claim")
            .is_empty());
        assert_eq!(store.due(3).await.expect("due"), (0, None));
    }

    #[tokio::test]
    async fn deliveries_of_a_queued_or_running_call_join_its_job() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        let joined = store
            .accept(with_hash("42", "hash-2"))
            .await
            .expect("accept");
        assert_eq!(
            joined,
            Delivery {
                job_id: id.clone(),
                disposition: Disposition::Joined
            }
        );
        let job = claim(&store).await;
        assert_eq!(
            store.job(&id).await.expect("read").map(|j| j.id),
            Some(job.id.clone())
        );

        let joined = store
            .accept(with_hash("42", "hash-2"))
            .await
            .expect("accept");
        assert_eq!(
            joined.disposition,
            Disposition::Joined,
            "same inputs join the running job"
        );
        let changed = store
            .accept(with_hash("42", "hash-3"))
            .await
            .expect("accept");
        assert_eq!(
            changed.disposition,
            Disposition::New,
            "changed inputs are processed again"
        );
        assert_eq!(store.delivery_count(&id).await.expect("count"), 3);
    }

    #[tokio::test]
    async fn a_delivery_after_completion_is_a_duplicate_unless_its_inputs_changed() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        let job = claim(&store).await;
        let done = Finish::Done {
            outcome: "ok".into(),
            result: serde_json::json!({}),
        };
        assert!(store.finish(&job, done).await.expect("finish"));
        let again = store.accept(new_job("42")).await.expect("accept");
        assert_eq!(
            again,
            Delivery {
                job_id: id.clone(),
                disposition: Disposition::Duplicate
            }
        );
        assert_eq!(store.count_jobs().await.expect("count"), 1);
        let changed = store
            .accept(with_hash("42", "hash-2"))
            .await
            .expect("accept");
        assert_eq!(changed.disposition, Disposition::New);
        assert_ne!(changed.job_id, id);
    }

    #[tokio::test]
    async fn a_dead_job_is_retried_with_fresh_attempts_keeping_records_already_written() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        let job = claim(&store).await;
        let target = |record_id: &str, status| Target {
            object: "Opportunity".into(),
            record_id: record_id.into(),
            status,
            detail: "x".into(),
        };
        store
            .resolve_target(&job, &target("006A", TargetStatus::Done), &[])
            .await
            .expect("done");
        store
            .resolve_target(&job, &target("006B", TargetStatus::Dead), &[])
            .await
            .expect("dead");
        let dead = Finish::Dead {
            reason: "006B deleted".into(),
            result: None,
        };
        assert!(store.finish(&job, dead).await.expect("finish"));
        assert_eq!(
            store
                .list_jobs(Some(JobStatus::Dead), None, 10)
                .await
                .expect("list")
                .len(),
            1
        );
        assert!(!store.retry_dead("no-such-job").await.expect("retry"));

        assert!(store.retry_dead(&id).await.expect("retry"));
        let retried = store.job(&id).await.expect("read").expect("exists");
        assert_eq!((retried.status, retried.attempts), (JobStatus::Queued, 0));
        let targets = store.targets(&id).await.expect("targets");
        assert_eq!(targets, vec![target("006A", TargetStatus::Done)]);
        assert!(
            !store.retry_dead(&id).await.expect("retry"),
            "only dead jobs are retried"
        );
    }

    #[tokio::test]
    async fn old_finished_jobs_are_purged_with_their_history_and_live_ones_kept() {
        let (_dir, store) = store().await;
        let done = enqueue(&store, new_job("1")).await;
        let job = claim(&store).await;
        let finish = Finish::Skipped {
            reason: "x".into(),
            result: None,
        };
        assert!(store.finish(&job, finish).await.expect("finish"));
        let queued = enqueue(&store, new_job("2")).await;
        assert_eq!(
            store
                .purge_finished(Duration::from_secs(3600))
                .await
                .expect("purge"),
            0
        );
        assert_eq!(
            store.purge_finished(Duration::ZERO).await.expect("purge"),
            1
        );
        assert!(store.job(&done).await.expect("read").is_none());
        assert_eq!(
            store.delivery_count(&done).await.expect("count"),
            0,
            "deliveries go too"
        );
        assert!(store.job(&queued).await.expect("read").is_some());
    }

    #[tokio::test]
    async fn every_dead_job_can_be_queued_again_at_once() {
        let (_dir, store) = store().await;
        for call in ["1", "2"] {
            enqueue(&store, new_job(call)).await;
            let job = claim(&store).await;
            let dead = Finish::Dead {
                reason: "x".into(),
                result: None,
            };
            assert!(store.finish(&job, dead).await.expect("finish"));
        }
        assert_eq!(store.retry_all_dead().await.expect("retry"), 2);
        assert_eq!(store.queue_depth().await.expect("depth").queued, 2);
        assert_eq!(
            store
                .list_jobs(None, Some("2"), 10)
                .await
                .expect("list")
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn jobs_left_running_by_a_dead_process_are_recovered_at_once() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        claim(&store).await;
        assert_eq!(store.recover_interrupted().await.expect("recover"), 1);
        let job = claim(&store).await;
        assert_eq!((job.id, job.attempts), (id, 2));
    }

    #[tokio::test]
    async fn a_job_is_claimed_once_then_finished() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        let job = claim(&store).await;
        assert_eq!(job.id, id);
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.attempts, 1);
        assert!(claim_for(&store, Duration::from_secs(60)).await.is_none());

        let finished = store
            .finish(
                &job,
                Finish::Done {
                    outcome: "wrote 1 field".into(),
                    result: serde_json::json!({"ok": true}),
                },
            )
            .await
            .expect("finish");
        assert!(finished);
        let stored = store.job(&id).await.expect("read").expect("exists");
        assert_eq!(stored.status, JobStatus::Done);
        assert_eq!(stored.result, Some(serde_json::json!({"ok": true})));
        assert_eq!(store.queue_depth().await.expect("depth").done, 1);
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_the_stale_worker_cannot_finish() {
        let (_dir, store) = store().await;
        enqueue(&store, new_job("42")).await;
        let stale = claim_for(&store, Duration::ZERO).await.expect("due");
        let fresh = claim_for(&store, Duration::from_secs(60))
            .await
            .expect("expired lease is reclaimed");
        assert_eq!(stale.id, fresh.id);
        assert_eq!(fresh.attempts, 2);
        let reason = Finish::Dead {
            reason: "late".into(),
            result: None,
        };
        assert!(!store.finish(&stale, reason).await.expect("finish"));
        assert_eq!(store.queue_depth().await.expect("depth").running, 1);
    }

    #[tokio::test]
    async fn retry_later_delays_the_job_and_release_keeps_the_attempt_count() {
        let (_dir, store) = store().await;
        let id = enqueue(&store, new_job("42")).await;
        let job = claim(&store).await;
        assert!(store
            .retry_later(&job, "Gong answered 503", Duration::from_secs(3600))
            .await
            .expect("retry"));
        assert!(claim_for(&store, Duration::from_secs(60)).await.is_none());
        let stored = store.job(&id).await.expect("read").expect("exists");
        assert_eq!(stored.status, JobStatus::Queued);
        assert_eq!(stored.last_error.as_deref(), Some("Gong answered 503"));

        enqueue(&store, new_job("43")).await;
        let job = claim(&store).await;
        store.release(&job).await.expect("release");
        let released = store.job(&job.id).await.expect("read").expect("exists");
        assert_eq!(released.status, JobStatus::Queued);
        assert_eq!(released.attempts, 0);
    }

    #[tokio::test]
    async fn jobs_survive_reopening_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/jobs.db", dir.path().display());
        let store = Store::connect(&url).await.expect("store opens");
        let id = enqueue(&store, new_job("42")).await;
        store.close().await;
        let reopened = Store::connect(&url).await.expect("store reopens");
        let job = reopened.job(&id).await.expect("read").expect("still there");
        assert_eq!(job.call_id, "42");
        assert_eq!(job.status, JobStatus::Queued);
    }
}
