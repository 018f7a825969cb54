//! Rows of the `jobs` table, in and out.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::FromRow;
use uuid::Uuid;

use crate::store::job_rows::{depth_from_counts, JobRow, StatusCount};
use crate::store::{Job, JobOrigin, QueueDepth, StoreError};

pub(super) use crate::store::job_rows::JOB_COLUMNS;

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
    let counts = rows
        .iter()
        .map(StatusCount::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(depth_from_counts(&counts))
}

/// A row of [`JOB_COLUMNS`] as a job.
pub(super) fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    JobRow::from_row(row)?.into_job()
}
