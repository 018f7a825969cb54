//! What the store holds and hands out, whatever the backend: jobs, deliveries, record
//! outcomes and the values written.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sync::Plan;

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

/// Where a job came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobOrigin {
    /// Gong's webhook (or a relay's).
    Webhook,
    /// The catch-up sweep found the call without a job: its webhook never came.
    Sweep,
    /// `competitor-sync backfill`.
    Backfill,
    /// `competitor-sync sync --call-id`.
    Sync,
}

impl JobOrigin {
    pub const ALL: [JobOrigin; 4] = [Self::Webhook, Self::Sweep, Self::Backfill, Self::Sync];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Sweep => "sweep",
            Self::Backfill => "backfill",
            Self::Sync => "sync",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

impl fmt::Display for JobOrigin {
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
    /// How the delivery was authenticated (`token`, `gong_jwt`, `standard_webhooks`,
    /// `unauthenticated`), kept with the delivery for operators.
    pub auth: Option<&'a str>,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub object: String,
    pub record_id: String,
    pub status: TargetStatus,
    /// What was written, or why it failed.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub result: Option<JobReport>,
    pub created_at: i64,
    pub updated_at: i64,
    pub run_after: i64,
    /// Finished under dry run: nothing was written to the CRM.
    pub dry_run: bool,
    pub origin: JobOrigin,
    /// What an earlier attempt planned once it had fetched the call: a retry caused by
    /// Salesforce alone writes from it without asking Gong.
    #[serde(skip)]
    pub plan: Option<KeptPlan>,
}

/// One field value written to the CRM, or one record created with it (a related-list row:
/// `record_id` is then the Opportunity it belongs to, `created_id` the new row's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub object: String,
    pub record_id: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_id: Option<String>,
}

/// How a claimed job leaves an attempt: what the store records, and what the metrics count
/// (see [`Ending::completed_label`]).
#[derive(Debug, Clone)]
pub enum Ending {
    /// Every record was written, or already held the names.
    Done { summary: String, report: JobReport },
    /// Nothing to write, for a reason (a test delivery, no linked record, no names, the
    /// fields already hold them).
    Skipped {
        reason: String,
        report: Option<JobReport>,
    },
    /// Dry run: everything but the CRM write. Stored as skipped, with what would have been
    /// written in the report; never counts as done for later deliveries of the call.
    DryRun { summary: String, report: JobReport },
    /// Retrying cannot help, or the attempts ran out: a dead letter.
    Dead {
        reason: String,
        report: Option<JobReport>,
    },
    /// Back to the queue, due after `delay`. An attempt that could not run (a pause, a rate
    /// limit, another job writing the same record) does not `count` against the job's
    /// attempts. `plan` is kept for the next attempt when this one got that far.
    Retry {
        reason: String,
        delay: Duration,
        counts: bool,
        plan: Option<KeptPlan>,
    },
}

impl Ending {
    /// The `outcome` of `competitor_sync_jobs_completed_total` for an ending that finishes
    /// the job; `None` for a retry.
    pub fn completed_label(&self) -> Option<&'static str> {
        match self {
            Self::Done { .. } => Some("synced"),
            Self::Skipped { .. } => Some("skipped"),
            Self::DryRun { .. } => Some("dry_run"),
            Self::Dead { .. } => Some("failed"),
            Self::Retry { .. } => None,
        }
    }
}

/// What a job planned and did, kept with it for `jobs show`, the admin API and the console.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// What the call's data and the rules called for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Each record's outcome, all attempts included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
    /// A dry run's values: what would have been written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub would_write: Vec<FieldWrite>,
}

/// A plan kept with its job between attempts, with a fingerprint of the rules it was made
/// under: a plan from other rules is not used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptPlan {
    pub rules: String,
    pub plan: Plan,
}

/// One record's outcome for a job, with the values written to it.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub job: &'a Job,
    /// The record's outcome; `None` records the writes of a record still to be retried
    /// (related-list rows created before another row of it failed for a while).
    pub target: Option<Target>,
    pub writes: Vec<FieldWrite>,
}

/// Jobs per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
