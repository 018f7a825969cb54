//! The `jobs` and `field_writes` tables.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
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

    fn parse(text: &str) -> Option<Self> {
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
}

/// One field value written to the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    },
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
                           last_error, outcome, result, created_at, updated_at, run_after";

impl Store {
    /// Commits a new queued job and returns its id. The caller may acknowledge the webhook
    /// once this returns.
    pub async fn enqueue(&self, job: NewJob<'_>) -> Result<String, StoreError> {
        let id = Uuid::now_v7().to_string();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO jobs (id, call_id, is_test, call_data, status, run_after, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?5, ?5)",
        )
        .bind(&id)
        .bind(job.call_id)
        .bind(job.is_test)
        .bind(job.call_data)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Takes the next due job, or one whose worker's lease ran out, for `lease`.
    /// A single UPDATE statement holds SQLite's write lock from the search to the claim, so
    /// two workers never claim the same job.
    pub async fn claim(&self, lease: Duration) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_id = ?1, \
                 locked_until = ?2, updated_at = ?3 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE (status = 'queued' AND run_after <= ?3) \
                            OR (status = 'running' AND locked_until <= ?3) \
                         ORDER BY run_after, id LIMIT 1) \
             RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::now_v7().to_string())
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| job_from_row(&row)).transpose()
    }

    /// Records one field written, as soon as the CRM confirmed it.
    pub async fn record_write(&self, job: &Job, write: &FieldWrite) -> Result<(), StoreError> {
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
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a claimed job. Returns false when the lease was lost (another worker took the job
    /// over after this one stalled past its lease); the other worker's result then stands.
    pub async fn finish(&self, job: &Job, finish: Finish) -> Result<bool, StoreError> {
        let (status, outcome, result) = match finish {
            Finish::Done { outcome, result } => (JobStatus::Done, outcome, Some(result)),
            Finish::Skipped { reason, result } => (JobStatus::Skipped, reason, result),
            Finish::Dead { reason } => (JobStatus::Dead, reason, None),
        };
        let last_error = (status == JobStatus::Dead).then(|| outcome.clone());
        let updated = sqlx::query(
            "UPDATE jobs SET status = ?1, outcome = ?2, result = ?3, \
                 last_error = COALESCE(?4, last_error), \
                 lease_id = NULL, locked_until = NULL, updated_at = ?5 \
             WHERE id = ?6 AND lease_id = ?7",
        )
        .bind(status.as_str())
        .bind(outcome)
        .bind(result.map(|r| r.to_string()))
        .bind(last_error)
        .bind(now_ms())
        .bind(&job.id)
        .bind(&job.lease_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Puts a claimed job back in the queue after a failed attempt, due again after `delay`.
    pub async fn retry_later(
        &self,
        job: &Job,
        error: &str,
        delay: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let updated = sqlx::query(
            "UPDATE jobs SET status = 'queued', last_error = ?1, run_after = ?2, \
                 lease_id = NULL, locked_until = NULL, updated_at = ?3 \
             WHERE id = ?4 AND lease_id = ?5",
        )
        .bind(error)
        .bind(now.saturating_add(delay_ms))
        .bind(now)
        .bind(&job.id)
        .bind(&job.lease_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Returns a job that was interrupted (shutdown) to the queue without counting the
    /// interrupted attempt.
    pub async fn release(&self, job: &Job) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), \
                 lease_id = NULL, locked_until = NULL, updated_at = ?1 \
             WHERE id = ?2 AND lease_id = ?3",
        )
        .bind(now_ms())
        .bind(&job.id)
        .bind(&job.lease_id)
        .execute(&self.pool)
        .await?;
        Ok(())
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
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/nested/dir/jobs.db", dir.path().display());
        let store = Store::connect(&url).await.expect("store opens");
        (dir, store)
    }

    fn new_job(call_id: &str) -> NewJob<'_> {
        NewJob {
            call_id,
            is_test: false,
            call_data: r#"{"metaData":{"id":"1"}}"#,
        }
    }

    #[tokio::test]
    async fn a_job_is_claimed_once_then_finished() {
        let (_dir, store) = store().await;
        let id = store.enqueue(new_job("42")).await.expect("enqueue");
        let job = store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("a job is due");
        assert_eq!(job.id, id);
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.attempts, 1);
        assert!(store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none());

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
        store.enqueue(new_job("42")).await.expect("enqueue");
        let stale = store
            .claim(Duration::ZERO)
            .await
            .expect("claim")
            .expect("due");
        let fresh = store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("expired lease is reclaimed");
        assert_eq!(stale.id, fresh.id);
        assert_eq!(fresh.attempts, 2);
        let reason = Finish::Dead {
            reason: "late".into(),
        };
        assert!(!store.finish(&stale, reason).await.expect("finish"));
        assert_eq!(store.queue_depth().await.expect("depth").running, 1);
    }

    #[tokio::test]
    async fn retry_later_delays_the_job_and_release_keeps_the_attempt_count() {
        let (_dir, store) = store().await;
        let id = store.enqueue(new_job("42")).await.expect("enqueue");
        let job = store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("due");
        assert!(store
            .retry_later(&job, "Gong answered 503", Duration::from_secs(3600))
            .await
            .expect("retry"));
        assert!(store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none());
        let stored = store.job(&id).await.expect("read").expect("exists");
        assert_eq!(stored.status, JobStatus::Queued);
        assert_eq!(stored.last_error.as_deref(), Some("Gong answered 503"));

        store.enqueue(new_job("43")).await.expect("enqueue");
        let job = store
            .claim(Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("due");
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
        let id = store.enqueue(new_job("42")).await.expect("enqueue");
        store.close().await;
        let reopened = Store::connect(&url).await.expect("store reopens");
        let job = reopened.job(&id).await.expect("read").expect("still there");
        assert_eq!(job.call_id, "42");
        assert_eq!(job.status, JobStatus::Queued);
    }
}
