//! What operators read and do, through the admin API and `competitor-sync jobs`: every
//! process's jobs, since they share the store.

use std::time::Duration;

use super::{delegate, Job, JobFilter, JobStatus, QueueDepth, Store, StoreError};

impl Store {
    delegate! {
        pub async fn job(&self, id: &str) -> Result<Option<Job>, StoreError>;
        /// Every job for a call, oldest first.
        pub async fn jobs_for_call(&self, call_id: &str) -> Result<Vec<Job>, StoreError>;
        /// The newest jobs, optionally of one status and one call, newest first.
        pub async fn list_jobs(
            &self,
            status: Option<JobStatus>,
            call_id: Option<&str>,
            limit: u32,
        ) -> Result<Vec<Job>, StoreError>;
        pub async fn count_jobs(&self) -> Result<u64, StoreError>;
        /// Number of deliveries recorded for a job (the first one included).
        pub async fn delivery_count(&self, job_id: &str) -> Result<u64, StoreError>;
        /// Jobs per status.
        pub async fn queue_depth(&self) -> Result<QueueDepth, StoreError>;
        /// Age of the oldest job waiting in the queue.
        pub async fn oldest_queued_age(&self) -> Result<Option<Duration>, StoreError>;
        /// Queues a dead job again, with fresh attempts. Records it already wrote stay
        /// written; those that failed are tried again. False when no dead job has this id.
        pub async fn retry_dead(&self, id: &str) -> Result<bool, StoreError>;
        /// Makes a queued job waiting for its next attempt (a retry's backoff) due now.
        /// False when no queued job has this id.
        pub async fn retry_now(&self, id: &str) -> Result<bool, StoreError>;
        /// Deletes jobs that ended (done, skipped or dead) more than `age` ago, with their
        /// deliveries, record outcomes and audit rows. Queued and running jobs are never
        /// removed. Returns how many jobs were deleted.
        pub async fn purge_finished(&self, age: Duration) -> Result<u64, StoreError>;
    }

    /// Queues every dead job again (see [`Store::retry_dead`]). Returns how many.
    pub async fn retry_all_dead(&self) -> Result<u64, StoreError> {
        self.retry_dead_matching(&JobFilter::default()).await
    }
}
