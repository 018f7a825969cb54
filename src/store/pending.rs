//! The queue bound's count, kept in memory by each process: counted when the store opens,
//! moved by every transition the process makes, and counted again every 15 seconds to take
//! in what other processes did, so the bound costs nothing per webhook.

use std::sync::atomic::{AtomicU64, Ordering};

/// How many jobs are waiting or running, and the most allowed. Counted once when the store
/// opens, then moved by every transition the store makes (a job created, a job ended, a dead
/// job queued again), so the bound costs nothing per webhook.
#[derive(Debug, Default)]
pub(super) struct PendingJobs {
    /// 0 for no limit.
    pub limit: AtomicU64,
    pub count: AtomicU64,
}

impl PendingJobs {
    pub fn ended(&self, jobs: u64) {
        let _ = self
            .count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(jobs))
            });
    }

    pub fn added(&self, jobs: u64) {
        self.count.fetch_add(jobs, Ordering::Relaxed);
    }
}
