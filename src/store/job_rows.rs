//! The `jobs` table's rows as both backends read them (each selects the same columns), and
//! what they mean: the checks that turn a row into a [`Job`] live here once.

use sqlx::{FromRow, Row};

use super::{Job, JobOrigin, JobStatus, QueueDepth, StoreError};

/// The columns a [`JobRow`] is read from, in the order both backends select them.
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

/// A row of [`JOB_COLUMNS`], of either backend, as a job.
pub(super) fn job_from_row<'r, R: Row>(row: &'r R) -> Result<Job, StoreError>
where
    JobRow: FromRow<'r, R>,
{
    JobRow::from_row(row)?.into_job()
}

/// Rows of `status, COUNT(*) AS n ... GROUP BY status`, of either backend, as counts per
/// status.
pub(super) fn depth_from_rows<'r, R: Row>(rows: &'r [R]) -> Result<QueueDepth, StoreError>
where
    StatusCount: FromRow<'r, R>,
{
    let counts = rows
        .iter()
        .map(StatusCount::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(depth_from_counts(&counts))
}

/// One row of [`JOB_COLUMNS`], as stored.
#[derive(FromRow)]
pub(super) struct JobRow {
    id: String,
    call_id: String,
    is_test: bool,
    call_data: String,
    status: String,
    attempts: i32,
    lease_id: Option<String>,
    last_error: Option<String>,
    outcome: Option<String>,
    result: Option<String>,
    created_at: i64,
    updated_at: i64,
    run_after: i64,
    dry_run: bool,
    plan: Option<String>,
    origin: String,
}

impl JobRow {
    /// The job, or [`StoreError::Corrupt`] naming what cannot be read.
    fn into_job(self) -> Result<Job, StoreError> {
        let corrupt = |problem: String| StoreError::Corrupt {
            id: self.id.clone(),
            problem,
        };
        let status = JobStatus::parse(&self.status)
            .ok_or_else(|| corrupt(format!("unknown status `{}`", self.status)))?;
        let result = self
            .result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(format!("result is not a job report: {e}")))?;
        let origin =
            JobOrigin::parse(&self.origin).ok_or_else(|| corrupt("unknown origin".to_owned()))?;
        // A plan that cannot be read is only a lost shortcut: the call is fetched again.
        let plan = self
            .plan
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok());
        Ok(Job {
            call_id: self.call_id,
            is_test: self.is_test,
            call_data: self.call_data,
            status,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            lease_id: self.lease_id,
            last_error: self.last_error,
            outcome: self.outcome,
            result,
            created_at: self.created_at,
            updated_at: self.updated_at,
            run_after: self.run_after,
            dry_run: self.dry_run,
            origin,
            plan,
            id: self.id,
        })
    }
}

/// One row of `status, COUNT(*) AS n ... GROUP BY status`.
#[derive(FromRow)]
pub(super) struct StatusCount {
    status: String,
    n: i64,
}

/// The counts per status as a queue depth (a status this version does not know is left out).
fn depth_from_counts(counts: &[StatusCount]) -> QueueDepth {
    let mut depth = QueueDepth::default();
    for StatusCount { status, n } in counts {
        let count = u64::try_from(*n).unwrap_or_default();
        match JobStatus::parse(status) {
            Some(JobStatus::Queued) => depth.queued = count,
            Some(JobStatus::Running) => depth.running = count,
            Some(JobStatus::Done) => depth.done = count,
            Some(JobStatus::Skipped) => depth.skipped = count,
            Some(JobStatus::Dead) => depth.dead = count,
            None => {}
        }
    }
    depth
}
