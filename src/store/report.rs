//! Jobs as operators see them (admin API, `competitor-sync jobs`): times in RFC 3339, no
//! payload, and for one job everything the store knows about it.

use serde::Serialize;

use super::{FieldWrite, Job, JobOrigin, JobReport, JobStatus, Store, StoreError, Target};

/// A job as operators see it: times as RFC 3339, no payload.
#[derive(Serialize)]
pub struct JobView {
    pub id: String,
    pub call_id: String,
    pub is_test: bool,
    pub status: JobStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub outcome: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// When a queued job is next tried.
    pub next_attempt_at: Option<String>,
    /// A dry run: nothing is or was written to the CRM.
    pub dry_run: bool,
    /// Where it came from: a webhook, the sweep, a backfill, `sync`.
    pub origin: JobOrigin,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.clone(),
            call_id: job.call_id.clone(),
            is_test: job.is_test,
            status: job.status,
            attempts: job.attempts,
            last_error: job.last_error.clone(),
            outcome: job.outcome.clone(),
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
            next_attempt_at: (job.status == JobStatus::Queued).then(|| rfc3339(job.run_after)),
            dry_run: job.dry_run,
            origin: job.origin,
        }
    }
}

#[derive(Serialize)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobView,
    pub result: Option<JobReport>,
    pub targets: Vec<Target>,
    pub writes: Vec<FieldWrite>,
    pub deliveries: u64,
}

impl JobDetail {
    /// The job with its record outcomes, values written and deliveries; `None` if unknown.
    pub async fn load(store: &Store, id: &str) -> Result<Option<Self>, StoreError> {
        let Some(job) = store.job(id).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            job: JobView::from(&job),
            result: job.result.clone(),
            targets: store.targets(id).await?,
            writes: store.writes_for_job(id).await?,
            deliveries: store.delivery_count(id).await?,
        }))
    }
}

/// Unix milliseconds as RFC 3339 (UTC).
pub fn rfc3339(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
