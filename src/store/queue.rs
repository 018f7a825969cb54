//! The job queue. A job is claimed with a lease (`lease_id`, `locked_until`), never by a
//! transaction held open across HTTP calls; every ending checks the lease, so a worker that
//! stalled past it changes nothing, and a job whose worker died is claimed again once its
//! lease runs out.

use std::time::Duration;

use super::{delegate, Delivery, Ending, Job, NewJob, Store, StoreError};

/// How many jobs are due, and how long the longest-waiting of them has been due (on the
/// store's clock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Due {
    pub count: usize,
    pub longest_wait: Option<Duration>,
}

impl Store {
    delegate! {
        /// Records a delivery and commits the work it calls for; the webhook may be
        /// acknowledged once this returns. Gong may deliver a call more than once:
        /// - while the call has a queued job, the delivery joins it (the newest inputs win,
        ///   and a plan made from older inputs is dropped);
        /// - while it has a running job with the same inputs, the delivery joins that job;
        /// - after a job finished (done or skipped) with the same inputs, it is a duplicate;
        /// - a dry-run job (queued, running or finished) wrote nothing: the delivery is new
        ///   work;
        /// - otherwise (new call, changed inputs, or the last job failed) a new job is queued.
        ///
        /// A delivery with a `webhook_id` seen before for the same call and payload is a
        /// duplicate of that delivery's job. Deliveries of one call arriving at once never
        /// both create a job. A new job is refused with [`StoreError::QueueFull`] when the
        /// bound ([`Store::bound_queue`]) is reached; joins and duplicates are not.
        pub async fn accept(&self, job: NewJob<'_>) -> Result<Delivery, StoreError>;
        /// Queues a job for `call_id` at once, whatever jobs the call had before: an
        /// operator asked for it (`competitor-sync sync`). `call_data` is what is known of
        /// the call; a `dry_run` job writes nothing, whoever runs it.
        pub async fn enqueue_call(
            &self,
            call_id: &str,
            call_data: &str,
            dry_run: bool,
        ) -> Result<String, StoreError>;
        /// How many jobs are due (up to `limit`). A job is due when it is queued and its time
        /// has come, or when it is running under a lease that ran out (its worker died).
        pub async fn due(&self, limit: usize) -> Result<Due, StoreError>;
        /// Takes up to `limit` due jobs, longest-waiting first, for `lease`, counting an
        /// attempt for each. No job is handed to two claimers.
        pub async fn claim_batch(&self, limit: usize, lease: Duration) -> Result<Vec<Job>, StoreError>;
        /// Claims one queued job by id, for `lease`; `None` when it is not queued (another
        /// process claimed it, or it finished).
        pub async fn claim_job(&self, id: &str, lease: Duration) -> Result<Option<Job>, StoreError>;
        /// Records how each claimed job leaves its attempt, all together. Returns, per job,
        /// whether its lease was still held (if not, another worker took the job over and
        /// its result stands; nothing is changed).
        pub async fn end_jobs(&self, ends: &[(&Job, Ending)]) -> Result<Vec<bool>, StoreError>;
        /// Returns a job interrupted by a shutdown to the queue without counting the
        /// interrupted attempt.
        pub async fn release(&self, job: &Job) -> Result<(), StoreError>;
        /// At service start-up, takes back jobs and record locks whose holders are known to
        /// be gone. SQLite (one service process per file): everything left running by the
        /// previous process, queued again at once, the interrupted attempt counted (a job
        /// that crashes the process must still end up dead). Backends shared by several
        /// processes leave them to their leases.
        pub async fn reclaim_orphans(&self) -> Result<u64, StoreError>;
    }

    /// Wakes an idle worker: work was queued in a way the store does not see itself.
    pub fn wake_workers(&self) {
        match self {
            Self::Sqlite(backend) => backend.wake_workers(),
            Self::Postgres(backend) => backend.wake_workers(),
        }
    }

    /// Returns when work may have arrived (a job accepted, queued again or retried), or after
    /// `at_most`, whichever comes first; workers poll with it.
    pub async fn wait_for_work(&self, at_most: Duration) {
        match self {
            Self::Sqlite(backend) => backend.wait_for_work(at_most).await,
            Self::Postgres(backend) => backend.wait_for_work(at_most).await,
        }
    }
}
