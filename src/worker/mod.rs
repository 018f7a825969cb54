//! Background workers: claim a batch of jobs and take it through typed stages (see
//! [`stages`]): screen, fetch the calls from Gong, plan (pure, in `sync`), describe, compute
//! the values, send them to Salesforce, record; then end each job's attempt in one commit.
//! This is where the domain step meets Gong, Salesforce and the store.

mod decide;
mod stages;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::RetrySettings;
use crate::gong::{GongClient, Readiness};
use crate::retry::{Classify, Disposition, Jitter};
use crate::salesforce::SalesforceClient;
use crate::store::{Ending, Job, KeptPlan, Store, StoreError};
use crate::sync::{CompetitorList, Plan, Rule};
use crate::telemetry;

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

pub struct Worker {
    pub store: Store,
    pub gong: GongClient,
    pub salesforce: SalesforceClient,
    pub rules: Vec<Rule>,
    /// The competitor list the rules' names go through.
    pub competitors: CompetitorList,
    pub retry: RetrySettings,
    pub lease: Duration,
    /// Jobs claimed at once: one sObject Collections request's worth.
    pub batch_size: usize,
    /// Calls per Gong request.
    pub gong_batch_size: usize,
    /// How long a batch's oldest job waits for company at least (zero: not at all, a batch
    /// gathers only while Gong is busy).
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
pub async fn run_pool(worker: Arc<Worker>, settings: PoolSettings, shutdown: CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency {
        let worker = Arc::clone(&worker);
        let shutdown = shutdown.clone();
        let poll = settings.poll_interval;
        let grace = settings.shutdown_grace;
        tasks.spawn(async move { worker.run(shutdown, poll, grace).await });
    }
    while tasks.join_next().await.is_some() {}
}

impl Worker {
    async fn run(&self, shutdown: CancellationToken, poll_interval: Duration, grace: Duration) {
        let mut fetches = self.gong.watch_fetches();
        while !shutdown.is_cancelled() {
            let jobs = match self
                .next_batch(&shutdown, poll_interval, &mut fetches)
                .await
            {
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
                self.store.wake_workers();
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

    /// Waits for due jobs and claims up to a batch of them. A batch leaves at once when Gong
    /// would take its request at once (no fetch of this process in flight, the next slot
    /// due): a lone call waits for nothing. Otherwise due jobs gather, and the batch leaves
    /// when it is full or when Gong is ready: batching happens exactly while the limiter is
    /// the bottleneck. `batch_window`, when set, also holds a batch until its oldest job has
    /// waited that long, trading a lone call's latency for fewer requests.
    async fn next_batch(
        &self,
        shutdown: &CancellationToken,
        poll_interval: Duration,
        fetches: &mut watch::Receiver<usize>,
    ) -> Result<Vec<Job>, StoreError> {
        loop {
            fetches.borrow_and_update();
            let gong = self.gong.readiness();
            if gong == Readiness::Now && self.batch_window.is_zero() {
                // The lone call's path: one claim, no count of what is due first.
                let jobs = self.store.claim_batch(self.batch_size, self.lease).await?;
                if !jobs.is_empty() {
                    return Ok(jobs);
                }
                tokio::select! {
                    () = self.store.wait_for_work(poll_interval) => {}
                    () = shutdown.cancelled() => return Ok(Vec::new()),
                }
                continue;
            }
            let due = self.store.due(self.batch_size).await?;
            let gong_wait = match gong {
                Readiness::Now => Duration::ZERO,
                Readiness::In(wait) => wait,
                Readiness::AfterFetch => poll_interval,
            };
            let wait = match due.longest_wait {
                _ if due.count >= self.batch_size => Duration::ZERO,
                None => poll_interval,
                Some(waited) => self.batch_window.saturating_sub(waited).max(gong_wait),
            };
            if due.count > 0 && wait.is_zero() {
                return self.store.claim_batch(self.batch_size, self.lease).await;
            }
            tokio::select! {
                () = self.store.wait_for_work(wait.min(poll_interval)) => {}
                _ = fetches.changed() => {}
                () = shutdown.cancelled() => return Ok(Vec::new()),
            }
        }
    }

    /// Runs every job that is due now, batch after batch, without waiting for a batch
    /// window, until none is due. Returns how many jobs were run. For tests and one-off
    /// commands that drive the work themselves instead of running the pool.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        let mut ran = 0;
        loop {
            let jobs = self.store.claim_batch(self.batch_size, self.lease).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            ran += jobs.len();
            self.run_batch(&jobs).await;
        }
    }

    /// Whether `job` stops short of writing to the CRM.
    fn is_dry_run(&self, job: &Job) -> bool {
        self.dry_run || job.dry_run
    }

    /// The plan an earlier attempt of `job` kept, if it was made under today's rules.
    fn kept_plan(&self, job: &Job) -> Option<Plan> {
        let kept = job.plan.as_ref()?;
        (kept.rules == self.rules_fingerprint()).then(|| kept.plan.clone())
    }

    /// Identifies the rules a plan was made under: a plan kept from other rules is not used.
    fn rules_fingerprint(&self) -> String {
        let rules = serde_json::json!({
            "rules": self.rules,
            "competitors": self.competitors.entries(),
            "unknown_names": self.competitors.unknown,
        })
        .to_string();
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
        let verdicts = stages::process(self, jobs).instrument(span).await;
        let elapsed = started.elapsed();
        // One draw for the batch: its jobs that fail alike come back together, as one batch.
        let jitter = Jitter::draw();
        let rules = self.rules_fingerprint();
        let mut ends = Vec::with_capacity(jobs.len());
        for (job, verdict) in jobs.iter().zip(verdicts) {
            telemetry::job_attempt_duration(elapsed);
            let span = tracing::info_span!("job", job_id = %job.id, call_id = %job.call_id, attempt = job.attempts);
            let plan = verdict.plan.map(|plan| KeptPlan {
                rules: rules.clone(),
                plan,
            });
            let ending = span.in_scope(|| self.decide(job, verdict.result, plan, jitter));
            ends.push((job, ending));
        }
        // Every job's ending in one transaction: one commit per batch, not one per job.
        match until_recorded("the jobs' outcomes", || self.store.end_jobs(&ends)).await {
            Ok(held) => {
                for ((job, ending), held) in ends.iter().zip(held) {
                    if !held {
                        tracing::warn!(job_id = %job.id, "the job's lease was lost to another worker; its result stands");
                    } else if let Some(outcome) = ending.completed_label() {
                        telemetry::job_completed(outcome);
                    } else if matches!(ending, Ending::Retry { counts: true, .. }) {
                        telemetry::job_retried();
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, jobs = jobs.len(), "could not record the jobs' outcomes; they are taken over when their leases expire");
            }
        }
    }
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
    Fut: Future<Output = Result<T, StoreError>>,
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
