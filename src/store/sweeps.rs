//! The catch-up sweep's bookkeeping: one sweeper at a time across every process (a lease on
//! the sweep's row, taken over when its holder dies), how often, when the last one
//! succeeded, and queueing the calls it found without a job.

use std::collections::HashSet;
use std::time::Duration;

use super::{delegate, JobOrigin, ListedCall, Store, StoreError};

/// How the sweep last went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepStatus {
    /// When the last sweep started, Unix ms.
    pub last_started_unix_ms: i64,
    /// When the last sweep that completed ended, Unix ms.
    pub last_success_unix_ms: Option<i64>,
    /// What the last sweep did, for operators ("listed 240 calls, 3 queued").
    pub last_outcome: Option<String>,
}

impl Store {
    delegate! {
        /// Starts the sweep `name` for `holder`, for `lease`: when no other holder has it (or
        /// its lease ran out) and the last one started at least `every` ago. True when
        /// `holder` runs it now.
        pub async fn try_start_sweep(
            &self,
            name: &str,
            holder: &str,
            every: Duration,
            lease: Duration,
        ) -> Result<bool, StoreError>;
        /// Ends `holder`'s sweep with `outcome`; a `success` is the new last successful sweep.
        pub async fn finish_sweep(
            &self,
            name: &str,
            holder: &str,
            outcome: &str,
            success: bool,
        ) -> Result<(), StoreError>;
        /// How the sweep `name` last went, if it ever ran.
        pub async fn sweep_status(&self, name: &str) -> Result<Option<SweepStatus>, StoreError>;
        /// Whether a job a webhook brought is due and waiting for a worker: the sweep lists
        /// its next page only when none is, so it never keeps a webhook's batch waiting.
        pub async fn deliveries_due(&self) -> Result<bool, StoreError>;
        /// Those of `call_ids` that have a job in the store (any state, any origin).
        pub async fn calls_with_jobs(&self, call_ids: &[&str]) -> Result<HashSet<String>, StoreError>;
        /// Queues a job from `origin` for each listed call that has none, each decided under
        /// its call's lock as a delivery is (a webhook for the same call arriving meanwhile
        /// makes no second job). Returns the calls queued.
        pub async fn enqueue_unknown(
            &self,
            calls: &[ListedCall],
            origin: JobOrigin,
        ) -> Result<Vec<String>, StoreError>;
    }
}
