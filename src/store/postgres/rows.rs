//! Rows of the `jobs` table, in and out.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;
use uuid::Uuid;

use crate::store::{Job, JobOrigin, JobStatus, QueueDepth, StoreError};

pub(super) const JOB_COLUMNS: &str = "id, call_id, is_test, call_data, status, attempts, \
    lease_id, last_error, outcome, result, created_at, updated_at, run_after, dry_run, plan, origin";

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
    pub origin: JobOrigin,
}

/// Inserts `job` as queued and due now; returns its new id.
pub(super) async fn insert_queued(
    conn: &mut PgConnection,
    job: &QueuedJob<'_>,
) -> Result<String, StoreError> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO jobs (id, call_id, is_test, call_data, content_hash, status, run_after, \
             created_at, updated_at, dry_run, backfill, origin) \
         SELECT $1, $2, $3, $4, $5, 'queued', t, t, t, $6, $7, $8 FROM now_ms() AS t",
    )
    .bind(&id)
    .bind(job.call_id)
    .bind(job.is_test)
    .bind(job.call_data)
    .bind(job.content_hash)
    .bind(job.dry_run)
    .bind(job.backfill)
    .bind(job.origin.as_str())
    .execute(conn)
    .await?;
    Ok(id)
}

/// Rows of `status, COUNT(*) AS n ... GROUP BY status` as counts per status.
pub(super) fn depth_from_rows(rows: &[PgRow]) -> Result<QueueDepth, StoreError> {
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

pub(super) fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
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
        .map_err(|e| corrupt(format!("result is not a job report: {e}")))?;
    // A plan that cannot be read is only a lost shortcut: the call is fetched again.
    let plan = row
        .try_get::<Option<String>, _>("plan")?
        .and_then(|text| serde_json::from_str(&text).ok());
    let attempts: i32 = row.try_get("attempts")?;
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
        origin: JobOrigin::parse(&row.try_get::<String, _>("origin")?)
            .ok_or_else(|| corrupt("unknown origin".to_owned()))?,
        plan,
        id,
    })
}
