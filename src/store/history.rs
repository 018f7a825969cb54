//! What happened to each job and each record, for the console and the admin API: every
//! attempt as it ended, every delivery, every value written to a record, jobs found by
//! filter (and the dead ones among them replayed), and the outcomes of recent hours.

use serde::Serialize;

use super::{delegate, Ending, Job, JobOrigin, JobStatus, Store, StoreError};

/// Which jobs: every condition given must hold. Text conditions are matched literally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub origin: Option<JobOrigin>,
    pub call_id: Option<String>,
    /// A record the job wrote or tried to write, or that its call is linked to.
    pub record_id: Option<String>,
    /// Last changed at or after this time, Unix ms.
    pub updated_since: Option<i64>,
    /// Last changed before this time, Unix ms.
    pub updated_before: Option<i64>,
    /// Text in the job's error or outcome, case-insensitive.
    pub text: Option<String>,
}

/// How an attempt ended, as kept in the job's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The job's attempt count when it ended.
    pub attempt: u32,
    pub ended_at_unix_ms: i64,
    /// `done`, `skipped`, `dry_run`, `dead`, `retry` or `deferred` (tried again without
    /// counting the attempt: a pause, a rate limit, a record another job held).
    pub outcome: String,
    /// The summary, the reason, or the error.
    pub detail: String,
    pub next_attempt_at_unix_ms: Option<i64>,
}

impl Attempt {
    /// The history entry of `ending`, for the `attempt`-th attempt ended at `now`.
    pub(crate) fn of(ending: &Ending, attempt: u32, now: i64) -> Self {
        let (outcome, detail, next) = match ending {
            Ending::Done { summary, .. } => ("done", summary, None),
            Ending::Skipped { reason, .. } => ("skipped", reason, None),
            Ending::DryRun { summary, .. } => ("dry_run", summary, None),
            Ending::Dead { reason, .. } => ("dead", reason, None),
            Ending::Retry {
                reason,
                delay,
                counts,
                ..
            } => {
                let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                let outcome = if *counts { "retry" } else { "deferred" };
                (outcome, reason, Some(now.saturating_add(delay)))
            }
        };
        Self {
            attempt,
            ended_at_unix_ms: now,
            outcome: outcome.to_owned(),
            detail: detail.clone(),
            next_attempt_at_unix_ms: next,
        }
    }
}

/// A delivery of a job's call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRecord {
    /// `new`, `joined` or `duplicate`.
    pub disposition: String,
    pub received_at_unix_ms: i64,
    /// `token`, `gong_jwt`, `standard_webhooks` or `unauthenticated`; unknown for deliveries
    /// stored before it was kept.
    pub auth: Option<String>,
    pub webhook_id: Option<String>,
}

/// A value written to a record, by which job and call, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordWrite {
    pub job_id: String,
    pub call_id: String,
    pub object: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    /// The id of the record the write created, if it created one.
    pub created_id: Option<String>,
    pub written_at_unix_ms: i64,
}

/// Jobs that ended in one hour, by how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HourOutcomes {
    /// The hour's start, Unix ms.
    pub hour_unix_ms: i64,
    pub done: u64,
    pub skipped: u64,
    pub dead: u64,
}

impl Store {
    delegate! {
        /// A job's attempts as they ended, oldest first.
        pub async fn attempts(&self, job_id: &str) -> Result<Vec<Attempt>, StoreError>;
        /// A job's deliveries, oldest first.
        pub async fn deliveries(&self, job_id: &str) -> Result<Vec<DeliveryRecord>, StoreError>;
        /// Every value written to the record `record_id`, newest first.
        pub async fn record_writes(&self, record_id: &str) -> Result<Vec<RecordWrite>, StoreError>;
        /// The jobs `filter` selects, newest first: `limit` of them after skipping `offset`.
        pub async fn find_jobs(
            &self,
            filter: &JobFilter,
            limit: u32,
            offset: u32,
        ) -> Result<Vec<Job>, StoreError>;
        /// How many jobs `filter` selects.
        pub async fn count_matching(&self, filter: &JobFilter) -> Result<u64, StoreError>;
        /// Queues again every dead job `filter` selects (see [`Store::retry_dead`]).
        /// Returns how many.
        pub async fn retry_dead_matching(&self, filter: &JobFilter) -> Result<u64, StoreError>;
        /// Jobs that ended (their last attempt) from `since` (Unix ms) on, per hour, oldest
        /// first; hours without any are left out.
        pub async fn outcomes_by_hour(&self, since: i64) -> Result<Vec<HourOutcomes>, StoreError>;
    }
}
