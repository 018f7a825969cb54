//! Backfill bookkeeping: the calls Gong lists for a date range become jobs page by page, and
//! each page's jobs are committed together with the range's progress (the cursor of the next
//! page), so a run stopped part-way resumes at the next page without repeating work.

use super::{delegate, QueueDepth, Store, StoreError};

/// A call as Gong listed it.
#[derive(Debug, Clone)]
pub struct ListedCall {
    pub call_id: String,
    /// The listing's JSON for the call (metadata and CRM context), kept like a webhook's.
    pub call_data: String,
}

/// Where a backfill range stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    /// Gong's cursor for the next page; `None` before the first page and after the last.
    pub cursor: Option<String>,
    /// Calls listed so far.
    pub listed: u64,
    /// How many calls Gong says the range holds.
    pub total: Option<u64>,
    /// Every page was listed.
    pub complete: bool,
}

/// What became of one page's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageEnqueued {
    /// New jobs.
    pub queued: u64,
    /// The call already had a job waiting or running (a webhook's, or an earlier run's).
    pub already_queued: u64,
    /// The call was already synced or skipped by a job that was not a dry run.
    pub already_done: u64,
}

/// One listed page and the progress it leads to.
pub struct Page<'a> {
    pub calls: &'a [ListedCall],
    pub next_cursor: Option<&'a str>,
    pub total: Option<u64>,
}

impl Store {
    delegate! {
        /// The progress recorded for `range`, if it was started before.
        pub async fn backfill_progress(
            &self,
            range: &str,
        ) -> Result<Option<BackfillProgress>, StoreError>;
        /// Forgets a range's progress, so the next run lists it from the first page again.
        pub async fn restart_backfill(&self, range: &str) -> Result<(), StoreError>;
        /// Queues a job for each listed call that needs one and records the page as listed,
        /// together. A call that has a job waiting or running, or one that finished (not as
        /// a dry run), gets no new job: a resumed or repeated backfill does not redo work.
        pub async fn enqueue_page(
            &self,
            range: &str,
            page: Page<'_>,
            dry_run: bool,
        ) -> Result<PageEnqueued, StoreError>;
        /// The jobs a backfill range queued, by status.
        pub async fn backfill_jobs(&self, range: &str) -> Result<QueueDepth, StoreError>;
    }
}
