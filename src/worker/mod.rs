//! Background workers: claim a job, run the sync for its call, record the outcome.
//! This is where the pure domain step meets Gong, Salesforce and the store.

mod record_locks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{RetrySettings, SyncRule, WriteMode};
use crate::gong::types::Call;
use crate::gong::{GongClient, GongError};
use crate::retry::{backoff, Classify, Disposition};
use crate::salesforce::{SalesforceClient, SalesforceError};
use crate::store::{FieldWrite, Finish, Job, Store, StoreError, Target, TargetStatus};
use crate::sync::{self, SkipReason};
use crate::telemetry;
pub use record_locks::RecordLocks;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Gong(#[from] GongError),
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored webhook cannot be read: {0}")]
    BadPayload(String),
}

impl Classify for JobError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Gong(e) => e.disposition(),
            Self::Salesforce(e) => e.disposition(),
            Self::Store(e) => e.disposition(),
            Self::BadPayload(_) => Disposition::Permanent,
        }
    }
}

/// How one attempt ended when it did not fail as a whole.
enum Outcome {
    Synced {
        summary: String,
        result: Value,
    },
    Skipped {
        reason: SkipReason,
        result: Option<Value>,
    },
    /// Some records could not be written (the others were): a dead letter with the details.
    RecordsFailed {
        reason: String,
        result: Value,
    },
}

pub struct Worker {
    pub store: Store,
    pub gong: GongClient,
    pub salesforce: SalesforceClient,
    pub rules: Vec<SyncRule>,
    pub retry: RetrySettings,
    pub lease: Duration,
    pub record_locks: RecordLocks,
}

/// Settings of the worker loop itself.
pub struct PoolSettings {
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub shutdown_grace: Duration,
}

/// Runs `concurrency` workers until `shutdown` is cancelled. Jobs in flight then get
/// `shutdown_grace` to finish; those still running are released to the queue.
pub async fn run_pool(
    worker: Arc<Worker>,
    settings: PoolSettings,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency {
        let worker = Arc::clone(&worker);
        let wake = Arc::clone(&wake);
        let shutdown = shutdown.clone();
        let poll = settings.poll_interval;
        let grace = settings.shutdown_grace;
        tasks.spawn(async move { worker.run(wake, shutdown, poll, grace).await });
    }
    while tasks.join_next().await.is_some() {}
}

impl Worker {
    async fn run(
        &self,
        wake: Arc<Notify>,
        shutdown: CancellationToken,
        poll_interval: Duration,
        grace: Duration,
    ) {
        while !shutdown.is_cancelled() {
            match self.store.claim(self.lease).await {
                Ok(Some(job)) => {
                    let grace_over = async {
                        shutdown.cancelled().await;
                        tokio::time::sleep(grace).await;
                    };
                    tokio::select! {
                        () = self.attempt(&job) => {}
                        () = grace_over => {
                            tracing::warn!(job_id = %job.id, "shutdown grace period over: releasing the job for the next start");
                            if let Err(error) = self.store.release(&job).await {
                                tracing::error!(job_id = %job.id, %error, "could not release the job; it is retried when its lease expires");
                            }
                            return;
                        }
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "could not claim a job");
                    tokio::select! {
                        () = tokio::time::sleep(poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        }
    }

    /// One attempt at a claimed job, ending with the job finished or rescheduled.
    async fn attempt(&self, job: &Job) {
        let span = tracing::info_span!("job", job_id = %job.id, call_id = %job.call_id, attempt = job.attempts);
        async {
            let started = Instant::now();
            let result = self.process(job).await;
            telemetry::job_attempt_duration(started.elapsed());
            if let Err(error) = self.conclude(job, result).await {
                tracing::error!(%error, "could not record the job's outcome; it is retried when its lease expires");
            }
        }
        .instrument(span)
        .await
    }

    async fn conclude(
        &self,
        job: &Job,
        result: Result<Outcome, JobError>,
    ) -> Result<(), StoreError> {
        let (finish, metric) = match result {
            Ok(Outcome::Synced { summary, result }) => {
                tracing::info!(outcome = %summary, "job done");
                (
                    Finish::Done {
                        outcome: summary,
                        result,
                    },
                    "synced",
                )
            }
            Ok(Outcome::Skipped { reason, result }) => {
                tracing::info!(reason = %reason, "job skipped");
                let reason = reason.to_string();
                (Finish::Skipped { reason, result }, "skipped")
            }
            Ok(Outcome::RecordsFailed { reason, result }) => {
                tracing::error!(%reason, "job dead: records could not be written");
                (
                    Finish::Dead {
                        reason,
                        result: Some(result),
                    },
                    "failed",
                )
            }
            Err(error) => match error.disposition() {
                Disposition::Defer { after } => {
                    tracing::warn!(%error, retry_in_secs = after.as_secs(), "job deferred; its attempt is not counted");
                    self.store.defer(job, &error.to_string(), after).await?;
                    return Ok(());
                }
                Disposition::Retry { after } if job.attempts < self.retry.max_attempts => {
                    let delay = backoff(&self.retry, job.attempts, after);
                    tracing::warn!(%error, retry_in_secs = delay.as_secs(), "attempt failed; will retry");
                    if self
                        .store
                        .retry_later(job, &error.to_string(), delay)
                        .await?
                    {
                        telemetry::job_retried();
                    }
                    return Ok(());
                }
                Disposition::Retry { .. } => {
                    let reason = format!("gave up after {} attempts: {error}", job.attempts);
                    tracing::error!(%reason, "job dead");
                    (
                        Finish::Dead {
                            reason,
                            result: None,
                        },
                        "failed",
                    )
                }
                Disposition::Permanent => {
                    tracing::error!(%error, "job dead: permanent failure");
                    let reason = error.to_string();
                    (
                        Finish::Dead {
                            reason,
                            result: None,
                        },
                        "failed",
                    )
                }
            },
        };
        if self.store.finish(job, finish).await? {
            telemetry::job_completed(metric);
        } else {
            tracing::warn!("the job's lease was lost to another worker; its result stands");
        }
        Ok(())
    }

    async fn process(&self, job: &Job) -> Result<Outcome, JobError> {
        let skipped = |reason| {
            Ok(Outcome::Skipped {
                reason,
                result: None,
            })
        };
        if job.is_test {
            return skipped(SkipReason::TestWebhook);
        }
        let webhook: Call = serde_json::from_str(&job.call_data)
            .map_err(|e| JobError::BadPayload(e.to_string()))?;
        // The webhook's own context decides, when it has one; Gong's copy is used otherwise.
        if !webhook.context.is_empty() {
            if let Err(reason) = sync::check_links(&webhook.context, &self.rules) {
                return skipped(reason);
            }
        }
        // While Salesforce is paused, fetching the call would only spend Gong quota.
        self.salesforce.ensure_not_paused()?;
        let call = self.gong.fetch_call(&job.call_id).await?;
        let context = if webhook.context.is_empty() {
            &call.context
        } else {
            &webhook.context
        };
        let plan = match sync::plan(context, call.trackers(), &self.rules) {
            Ok(plan) => plan,
            Err(reason) => return skipped(reason),
        };
        if !plan.ignored_ids.is_empty() {
            tracing::warn!(ids = ?plan.ignored_ids, "ignoring linked ids that are not Salesforce ids");
        }
        // Records resolved by an earlier attempt of this job are not written again.
        let resolved = self.store.targets(&job.id).await?;
        for record in &plan.records {
            let known = resolved.iter().any(|t| {
                t.record_id == record.record_id && t.object.eq_ignore_ascii_case(&record.object)
            });
            if !known {
                self.resolve_record(job, record).await?;
            }
        }
        let targets = self.store.targets(&job.id).await?;
        let written = self.store.writes_for_job(&job.id).await?.len();
        let result = json!({ "plan": plan, "targets": targets });
        let failed: Vec<&Target> = targets
            .iter()
            .filter(|t| t.status == TargetStatus::Dead)
            .collect();
        if !failed.is_empty() {
            let details: Vec<String> = failed
                .iter()
                .map(|t| format!("{} {}: {}", t.object, t.record_id, t.detail))
                .collect();
            return Ok(Outcome::RecordsFailed {
                reason: format!(
                    "{} of {} records could not be written: {}",
                    failed.len(),
                    targets.len(),
                    details.join("; ")
                ),
                result,
            });
        }
        if written == 0 {
            return Ok(Outcome::Skipped {
                reason: SkipReason::Unchanged,
                result: Some(result),
            });
        }
        Ok(Outcome::Synced {
            summary: format!(
                "wrote {written} field value(s) to {} record(s)",
                targets.len()
            ),
            result,
        })
    }

    /// Writes one record and records its outcome. A failure that concerns only this record
    /// (deleted, invalid id, rejected value) is recorded against it and the job goes on;
    /// anything else fails the attempt.
    async fn resolve_record(&self, job: &Job, record: &sync::RecordPlan) -> Result<(), JobError> {
        let _writer = self
            .record_locks
            .lock(&record.object, &record.record_id)
            .await;
        let target = |status, detail| Target {
            object: record.object.clone(),
            record_id: record.record_id.clone(),
            status,
            detail,
        };
        match self.write_record(record).await {
            Ok(writes) => {
                let detail = if writes.is_empty() {
                    "unchanged: the fields already hold these names".to_owned()
                } else {
                    let fields: Vec<&str> = writes.iter().map(|w| w.field.as_str()).collect();
                    format!("wrote {}", fields.join(", "))
                };
                let done = target(TargetStatus::Done, detail);
                self.store.resolve_target(job, &done, &writes).await?;
                Ok(())
            }
            Err(JobError::Salesforce(error)) if error.record_error_code().is_some() => {
                let code = error.record_error_code().unwrap_or_default();
                telemetry::target_failed(code);
                tracing::warn!(record_id = %record.record_id, %error, "record could not be written");
                let dead = target(TargetStatus::Dead, error.to_string());
                self.store.resolve_target(job, &dead, &[]).await?;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Computes one record's field values, reading them first for merge rules, and writes
    /// them in one request. Returns what was written (nothing when no value changes).
    async fn write_record(&self, record: &sync::RecordPlan) -> Result<Vec<FieldWrite>, JobError> {
        let mut limits = HashMap::new();
        for field in &record.fields {
            let described = self
                .salesforce
                .writable_field(&record.object, &field.field)
                .await?;
            limits.insert(
                field.field.as_str(),
                (described.length > 0).then_some(described.length),
            );
        }
        let merge_fields = record.merge_fields();
        let current = if merge_fields.is_empty() {
            HashMap::new()
        } else {
            self.salesforce
                .read_fields(&record.object, &record.record_id, &merge_fields)
                .await?
        };
        let mut values = Map::new();
        let mut writes = Vec::new();
        for field in &record.fields {
            let merge_with = (field.mode == WriteMode::Merge)
                .then(|| current.get(&field.field).and_then(Option::as_deref));
            let max_chars = limits.get(field.field.as_str()).copied().flatten();
            let Some(fitted) =
                sync::field_value(&field.names, &field.separator, merge_with, max_chars)
            else {
                continue;
            };
            if !fitted.dropped.is_empty() {
                tracing::warn!(
                    record_id = %record.record_id,
                    field = %field.field,
                    max_chars,
                    dropped = ?fitted.dropped,
                    "the names do not fit in the field: the last ones were left out"
                );
            }
            values.insert(field.field.clone(), Value::String(fitted.value.clone()));
            writes.push(FieldWrite {
                object: record.object.clone(),
                record_id: record.record_id.clone(),
                field: field.field.clone(),
                old_value: merge_with.flatten().map(str::to_owned),
                new_value: fitted.value,
            });
        }
        if !values.is_empty() {
            self.salesforce
                .update_record(&record.object, &record.record_id, &values)
                .await?;
        }
        Ok(writes)
    }
}
