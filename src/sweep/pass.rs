//! One sweep over the window: page after page, behind webhook work and above the day's
//! reserve, queueing the calls that should have come by webhook and have no job.

use std::fmt;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{SweepError, Sweeper};
use crate::gong::{CallListing, ListedPage, SHARED_ALLOWANCE};
use crate::store::{JobOrigin, ListedCall};
use crate::sync::{sweep_verdict, SweepVerdict};
use crate::telemetry;

/// How often the sweep looks again while webhook jobs wait for a worker.
const YIELD_POLL: Duration = Duration::from_millis(250);
/// How long one page waits behind webhook work at most. Due jobs are claimed within a batch
/// window; jobs due for longer mean a backlog (or no service running), for which one listing
/// request per this long is a small share of the Gong requests the workers send meanwhile.
const MAX_YIELD: Duration = Duration::from_secs(10);

/// The calls a sweep lists: those that started from `from` to `to`, RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepWindow {
    pub from: String,
    pub to: String,
}

/// How a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepOutcome {
    /// Every page of the window was listed.
    Completed,
    /// Fewer of the day's Gong requests are left than `sweep.reserve`: they are the webhooks'.
    StoppedAtReserve { left: u64 },
    /// Stopped before the last page: shutdown, or the lease ran out. The next sweep lists
    /// the window again.
    Incomplete,
}

impl SweepOutcome {
    /// The `outcome` label of `competitor_sync_sweep_runs_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::StoppedAtReserve { .. } => "stopped_at_reserve",
            Self::Incomplete => "incomplete",
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub window: SweepWindow,
    pub outcome: SweepOutcome,
    /// Calls Gong listed.
    pub listed: u64,
    /// Listed calls that already had a job (they came by webhook, or an earlier sweep).
    pub already_known: u64,
    /// Listed calls outside `sweep.scope` / `sweep.min_duration`.
    pub outside_filter: u64,
    /// Listed calls with nothing to write yet: no linked record or no competitor phrases
    /// (looked at again by the next sweep).
    pub nothing_to_write: u64,
    /// Calls queued: their webhook never came.
    pub queued: Vec<String>,
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}: listed {} calls, {} already known, {} queued, {} with nothing to write yet, \
             {} outside the filter",
            self.window.from,
            self.window.to,
            self.listed,
            self.already_known,
            self.queued.len(),
            self.nothing_to_write,
            self.outside_filter
        )?;
        match self.outcome {
            SweepOutcome::Completed => Ok(()),
            SweepOutcome::StoppedAtReserve { left } => write!(
                f,
                "; stopped: {left} of today's Gong requests are left, below sweep.reserve"
            ),
            SweepOutcome::Incomplete => write!(f, "; stopped before the last page"),
        }
    }
}

impl Sweeper {
    /// Lists the window page by page until its last page, `deadline`, `stop`, or the reserve.
    pub(super) async fn sweep_window(
        &self,
        deadline: Instant,
        stop: &CancellationToken,
    ) -> Result<SweepReport, SweepError> {
        let window = self.window()?;
        let listing = CallListing {
            from: &window.from,
            to: &window.to,
            workspace_id: self.settings.workspace_id.as_deref(),
            trackers: true,
        };
        let mut report = SweepReport {
            window: window.clone(),
            outcome: SweepOutcome::Completed,
            listed: 0,
            already_known: 0,
            outside_filter: 0,
            nothing_to_write: 0,
            queued: Vec::new(),
        };
        let mut cursor: Option<String> = None;
        loop {
            if let Some(outcome) = self.wait_for_turn(deadline, stop).await? {
                report.outcome = outcome;
                break;
            }
            let page = tokio::select! {
                page = self.worker.gong.list_page_patiently(&listing, cursor.as_deref()) => page?,
                () = stop.cancelled() => {
                    report.outcome = SweepOutcome::Incomplete;
                    break;
                }
            };
            self.queue_page(&page, &mut report).await?;
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        Ok(report)
    }

    /// From `sweep.lookback` ago to `sweep.min_age` ago.
    fn window(&self) -> Result<SweepWindow, SweepError> {
        // Whole seconds: the window is shown to operators.
        let now = OffsetDateTime::now_utc();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let at = |ago: Duration| {
            let ago = time::Duration::try_from(ago).unwrap_or(time::Duration::ZERO);
            now.checked_sub(ago)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH)
                .format(&Rfc3339)
                .map_err(SweepError::Window)
        };
        Ok(SweepWindow {
            from: at(self.settings.lookback)?,
            to: at(self.settings.min_age)?,
        })
    }

    /// Waits while webhook jobs wait for a worker (at most [`MAX_YIELD`]); `Some` when the
    /// sweep must stop instead: below the reserve, past `deadline`, or stopped.
    async fn wait_for_turn(
        &self,
        deadline: Instant,
        stop: &CancellationToken,
    ) -> Result<Option<SweepOutcome>, SweepError> {
        let used = self.store().requests_used_today(SHARED_ALLOWANCE).await?;
        let left = u64::from(self.daily_limit).saturating_sub(used);
        if left < u64::from(self.settings.reserve) {
            tracing::warn!(
                left,
                reserve = self.settings.reserve,
                "the catch-up sweep stops: the rest of today's Gong requests (sweep.reserve) are kept for webhooks"
            );
            return Ok(Some(SweepOutcome::StoppedAtReserve { left }));
        }
        let yield_until = (Instant::now() + MAX_YIELD).min(deadline);
        while self.store().deliveries_due().await? {
            if Instant::now() >= yield_until {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(YIELD_POLL) => {}
                () = stop.cancelled() => {}
            }
            if stop.is_cancelled() {
                break;
            }
        }
        if stop.is_cancelled() || Instant::now() >= deadline {
            return Ok(Some(SweepOutcome::Incomplete));
        }
        Ok(None)
    }

    /// Queues the page's calls that have no job and would have come by webhook.
    async fn queue_page(
        &self,
        page: &ListedPage,
        report: &mut SweepReport,
    ) -> Result<(), SweepError> {
        let ids: Vec<&str> = page.calls.iter().map(|l| l.call.id.as_str()).collect();
        let known = self.store().calls_with_jobs(&ids).await?;
        let mut candidates = Vec::new();
        for listed in &page.calls {
            report.listed += 1;
            if known.contains(&listed.call.id) {
                report.already_known += 1;
                continue;
            }
            let verdict = sweep_verdict(
                &listed.call,
                &self.filter,
                &self.worker.rules,
                &self.worker.competitors,
            );
            match verdict {
                SweepVerdict::Queue => candidates.push(ListedCall {
                    call_id: listed.call.id.clone(),
                    call_data: listed.json.clone(),
                }),
                SweepVerdict::OutsideFilter => report.outside_filter += 1,
                SweepVerdict::NothingToWrite(_) => report.nothing_to_write += 1,
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let queued = self
            .store()
            .enqueue_unknown(&candidates, JobOrigin::Sweep)
            .await?;
        // A webhook that arrived since the look above made its job first.
        report.already_known += u64::try_from(candidates.len() - queued.len()).unwrap_or(0);
        for call_id in &queued {
            tracing::warn!(
                call_id = %call_id,
                "no webhook arrived for call {call_id}; check the Gong rule and the webhook URL (queued by the catch-up sweep)"
            );
        }
        telemetry::sweep_recovered(queued.len());
        report.queued.extend(queued);
        Ok(())
    }
}
