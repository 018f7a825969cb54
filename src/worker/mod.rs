//! Background workers: claim a batch of jobs, fetch their calls from Gong in one request,
//! plan the writes (pure, in `sync`), write them to Salesforce in one collection request,
//! and record each job's outcome. This is where the domain step meets Gong, Salesforce and
//! the store.

mod batch;
mod record_locks;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{RetrySettings, SyncRule};
use crate::gong::GongClient;
use crate::retry::{backoff, Classify, Disposition, Jitter};
use crate::salesforce::SalesforceClient;
use crate::store::{now_ms, FieldWrite, Finish, Job, JobEnd, Store, StoreError};
use crate::sync::{Plan, SkipReason};
use crate::telemetry;
pub use record_locks::RecordLocks;

/// Why an attempt at a job failed, and what that means for the job. Errors of a whole batch
/// (a Gong or Salesforce outage) become one `Failure` per job.
#[derive(Debug, Clone)]
pub struct Failure {
    pub disposition: Disposition,
    pub message: String,
}

impl Failure {
    pub fn of<E: Classify + fmt::Display>(error: &E) -> Self {
        Self {
            disposition: error.disposition(),
            message: error.to_string(),
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            disposition: Disposition::Permanent,
            message: message.into(),
        }
    }
}

/// How one attempt ended when it did not fail as a whole.
#[derive(Debug)]
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
    /// Another job of the same batch writes one of this job's records: wait for the next
    /// batch, without spending an attempt, so the two writes do not race.
    Postponed,
    /// Dry run: everything was done but the write; `writes` is what it would have written.
    DryRun {
        writes: Vec<FieldWrite>,
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
    /// Jobs claimed at once: one sObject Collections request's worth.
    pub batch_size: usize,
    /// Calls per Gong request.
    pub gong_batch_size: usize,
    pub batch_window: Duration,
    /// `sync.dry_run`: no job writes to the CRM (a job queued as a dry run never does).
    pub dry_run: bool,
}

/// Settings of the worker loop itself.
pub struct PoolSettings {
    pub concurrency: usize,
    pub poll_interval: Duration,
    pub shutdown_grace: Duration,
}

/// Runs `concurrency` workers until `shutdown` is cancelled. Batches in flight then get
/// `shutdown_grace` to finish; jobs still running are released to the queue.
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
            let jobs = match self.next_batch(&wake, &shutdown, poll_interval).await {
                Ok(jobs) => jobs,
                Err(error) => {
                    tracing::error!(%error, "could not claim jobs");
                    tokio::select! {
                        () = tokio::time::sleep(poll_interval) => {}
                        () = shutdown.cancelled() => {}
                    }
                    continue;
                }
            };
            if jobs.is_empty() {
                continue;
            }
            if jobs.len() == self.batch_size {
                // More may be waiting: let another worker look while this one is busy.
                wake.notify_one();
            }
            let grace_over = async {
                shutdown.cancelled().await;
                tokio::time::sleep(grace).await;
            };
            tokio::select! {
                () = self.run_batch(&jobs) => {}
                () = grace_over => {
                    tracing::warn!(jobs = jobs.len(), "shutdown grace period over: releasing unfinished jobs for the next start");
                    for job in &jobs {
                        // A job already finished has no lease any more: this does nothing.
                        if let Err(error) = self.store.release(job).await {
                            tracing::error!(job_id = %job.id, %error, "could not release the job; it is retried when its lease expires");
                        }
                    }
                    return;
                }
            }
        }
    }

    /// Waits for due jobs and claims up to a batch of them. A batch is claimed once it is
    /// full, or once its longest-waiting job has waited `batch_window`: a burst shares one
    /// Gong request, and a lone call is not held up longer than the window.
    async fn next_batch(
        &self,
        wake: &Notify,
        shutdown: &CancellationToken,
        poll_interval: Duration,
    ) -> Result<Vec<Job>, StoreError> {
        loop {
            let (due, oldest) = self.store.due(self.batch_size).await?;
            let window_ms = i64::try_from(self.batch_window.as_millis()).unwrap_or(i64::MAX);
            let ready_at = oldest.map(|oldest| oldest.saturating_add(window_ms));
            let wait = match ready_at {
                _ if due >= self.batch_size => Duration::ZERO,
                None => poll_interval,
                Some(ready_at) => {
                    let remaining = ready_at.saturating_sub(now_ms()).max(0);
                    Duration::from_millis(u64::try_from(remaining).unwrap_or_default())
                }
            };
            if due > 0 && wait.is_zero() {
                return self.store.claim_batch(self.batch_size, self.lease).await;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait.min(poll_interval)) => {}
                () = shutdown.cancelled() => return Ok(Vec::new()),
            }
        }
    }

    /// Whether `job` stops short of writing to the CRM.
    fn is_dry_run(&self, job: &Job) -> bool {
        self.dry_run || job.dry_run
    }

    /// The plan an earlier attempt of `job` kept, if it was made under today's rules.
    fn stored_plan(&self, job: &Job) -> Option<Plan> {
        let stored: StoredPlan = serde_json::from_str(job.plan.as_deref()?).ok()?;
        (stored.rules == self.rules_fingerprint()).then_some(stored.plan)
    }

    /// Identifies the rules a plan was made under: a plan kept from other rules is not used.
    fn rules_fingerprint(&self) -> String {
        let rules = serde_json::to_string(&self.rules).unwrap_or_default();
        crate::digest::sha256_hex(rules.as_bytes())
    }

    /// Runs one job now, as `competitor-sync sync` does: claims it if it is still queued
    /// and records its outcome. Returns false when it was not queued (another process has
    /// it, or it already finished).
    pub async fn run_now(&self, job_id: &str) -> Result<bool, StoreError> {
        let Some(job) = self.store.claim_job(job_id, self.lease).await? else {
            return Ok(false);
        };
        self.run_batch(std::slice::from_ref(&job)).await;
        Ok(true)
    }

    async fn run_batch(&self, jobs: &[Job]) {
        let span = tracing::info_span!("batch", jobs = jobs.len());
        let started = Instant::now();
        let attempts = batch::process(self, jobs).instrument(span).await;
        let elapsed = started.elapsed();
        // One draw for the batch: its jobs that fail alike come back together, as one batch.
        let jitter = Jitter::draw();
        let rules = self.rules_fingerprint();
        let mut ends = Vec::with_capacity(jobs.len());
        let mut metrics = Vec::with_capacity(jobs.len());
        for (job, attempt) in jobs.iter().zip(attempts) {
            telemetry::job_attempt_duration(elapsed);
            let span = tracing::info_span!("job", job_id = %job.id, call_id = %job.call_id, attempt = job.attempts);
            let plan = attempt.plan.and_then(|plan| {
                let stored = StoredPlan {
                    rules: rules.clone(),
                    plan,
                };
                serde_json::to_string(&stored).ok()
            });
            let (end, metric) = span.in_scope(|| self.decide(job, attempt.result, plan, jitter));
            ends.push((job, end));
            metrics.push(metric);
        }
        // Every job's ending in one transaction: one commit per batch, not one per job.
        match until_recorded("the jobs' outcomes", || self.store.end_jobs(&ends)).await {
            Ok(held) => {
                for ((job, held), metric) in ends.iter().map(|(j, _)| j).zip(held).zip(metrics) {
                    match (held, metric) {
                        (false, _) => {
                            tracing::warn!(job_id = %job.id, "the job's lease was lost to another worker; its result stands")
                        }
                        (true, Some(Ending::Completed(outcome))) => {
                            telemetry::job_completed(outcome)
                        }
                        (true, Some(Ending::Retried)) => telemetry::job_retried(),
                        (true, None) => {}
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, jobs = jobs.len(), "could not record the jobs' outcomes; they are taken over when their leases expire");
            }
        }
    }

    /// How a job leaves this attempt, and what to count when that is recorded. A job going
    /// back to the queue keeps `plan`.
    fn decide(
        &self,
        job: &Job,
        result: Result<Outcome, Failure>,
        plan: Option<String>,
        jitter: Jitter,
    ) -> (JobEnd, Option<Ending>) {
        let completed =
            |finish, outcome| (JobEnd::Finish(finish), Some(Ending::Completed(outcome)));
        match result {
            Ok(Outcome::Synced { summary, result }) => {
                tracing::info!(outcome = %summary, "job done");
                completed(
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
                completed(Finish::Skipped { reason, result }, "skipped")
            }
            Ok(Outcome::RecordsFailed { reason, result }) => {
                tracing::error!(%reason, "job dead: records could not be written");
                let result = Some(result);
                completed(Finish::Dead { reason, result }, "failed")
            }
            Ok(Outcome::DryRun { writes, result }) => {
                let outcome = dry_run_outcome(&writes);
                for write in &writes {
                    tracing::info!(
                        object = %write.object,
                        record_id = %write.record_id,
                        field = %write.field,
                        old_value = write.old_value.as_deref(),
                        new_value = %write.new_value,
                        "dry run: would write"
                    );
                }
                tracing::info!(%outcome, "job done as a dry run");
                completed(Finish::DryRun { outcome, result }, "dry_run")
            }
            Ok(Outcome::Postponed) => {
                tracing::debug!("job postponed: another job of its batch writes the same record");
                let reason = "waiting for another job writing the same record".to_owned();
                (requeue(reason, Duration::ZERO, 1, plan), None)
            }
            Err(Failure {
                disposition,
                message,
            }) => match disposition {
                Disposition::Defer { after } => {
                    tracing::warn!(error = %message, retry_in_secs = after.as_secs(), "job deferred; its attempt is not counted");
                    (requeue(message, after, 1, plan), None)
                }
                Disposition::Retry { after } if job.attempts < self.retry.max_attempts => {
                    let delay = backoff(&self.retry, job.attempts, after, jitter);
                    tracing::warn!(error = %message, retry_in_secs = delay.as_secs(), "attempt failed; will retry");
                    (requeue(message, delay, 0, plan), Some(Ending::Retried))
                }
                Disposition::Retry { .. } => {
                    let reason = format!("gave up after {} attempts: {message}", job.attempts);
                    tracing::error!(%reason, "job dead");
                    completed(
                        Finish::Dead {
                            reason,
                            result: None,
                        },
                        "failed",
                    )
                }
                Disposition::Permanent => {
                    tracing::error!(error = %message, "job dead: permanent failure");
                    let reason = message;
                    completed(
                        Finish::Dead {
                            reason,
                            result: None,
                        },
                        "failed",
                    )
                }
            },
        }
    }
}

/// "dry run: would write 2 field value(s) to 2 record(s)".
fn dry_run_outcome(writes: &[FieldWrite]) -> String {
    if writes.is_empty() {
        return "dry run: nothing to write, the fields already hold these names".to_owned();
    }
    let mut records: Vec<(&str, &str)> = writes
        .iter()
        .map(|w| (w.object.as_str(), w.record_id.as_str()))
        .collect();
    records.sort_unstable();
    records.dedup();
    format!(
        "dry run: would write {} field value(s) to {} record(s)",
        writes.len(),
        records.len()
    )
}

/// What a recorded ending adds to the metrics.
enum Ending {
    /// `competitor_sync_jobs_completed_total{outcome}`: synced, skipped, failed or dry_run.
    Completed(&'static str),
    /// `competitor_sync_job_retries_total`.
    Retried,
}

/// Keeps trying to record what a batch did while the store fails for a reason that passes
/// (a full disk, a lost connection), with a growing pause: the upstream work is done, and
/// dropping its record would leave the jobs running until their leases run out, then
/// redo them. Stops at an error that waiting cannot cure, or when the task is cancelled
/// (shutdown), leaving the jobs to their leases.
async fn until_recorded<T, Fut>(
    what: &str,
    mut record: impl FnMut() -> Fut,
) -> Result<T, StoreError>
where
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    const FIRST_PAUSE: Duration = Duration::from_millis(100);
    const LONGEST_PAUSE: Duration = Duration::from_secs(5);
    let mut pause = FIRST_PAUSE;
    loop {
        match record().await {
            Ok(recorded) => {
                if pause > FIRST_PAUSE {
                    tracing::info!("recorded {what} once the store took writes again");
                }
                return Ok(recorded);
            }
            Err(error) if error.disposition() != Disposition::Permanent => {
                if pause == FIRST_PAUSE {
                    tracing::error!(%error, "could not record {what}; trying again until the store takes it");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(error) => return Err(error),
        }
    }
}

fn requeue(reason: String, delay: Duration, refund: u32, plan: Option<String>) -> JobEnd {
    JobEnd::Requeue {
        reason,
        delay,
        refund,
        plan,
    }
}

/// A plan as kept with its job, with the rules it was made under.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPlan {
    rules: String,
    plan: Plan,
}
