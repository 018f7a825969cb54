//! Rows of the `jobs` table: inserting them in this dialect; reading them, and the job to
//! insert, are both backends' ([`crate::store::job_rows`]).

use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;

use crate::store::StoreError;

pub(super) use crate::store::job_rows::{depth_from_rows, job_from_row, QueuedJob, JOB_COLUMNS};

/// Inserts `job` as queued, due at `now`; returns its new id.
pub(super) async fn insert_queued(
    conn: &mut SqliteConnection,
    job: &QueuedJob<'_>,
    now: i64,
) -> Result<String, StoreError> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO jobs (id, call_id, is_test, call_data, content_hash, status, run_after, \
             created_at, updated_at, dry_run, backfill, origin) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6, ?7, ?8, ?9)",
    )
    .bind(&id)
    .bind(job.call_id)
    .bind(job.is_test)
    .bind(job.call_data)
    .bind(job.content_hash)
    .bind(now)
    .bind(job.dry_run)
    .bind(job.backfill)
    .bind(job.origin.as_str())
    .execute(conn)
    .await?;
    Ok(id)
}
