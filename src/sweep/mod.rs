//! The catch-up sweep: Gong documents no retry of a failed webhook delivery, so every
//! `sweep.interval` one process (a lease in the store) lists the calls Gong has for the
//! window and queues a job for each one that should have come by webhook and has no job.
//! The listing goes through the same shared Gong allowance as the jobs, behind them.

mod pass;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::SweepSettings;
use crate::gong::GongError;
use crate::retry::{Classify, Disposition};
use crate::store::{Store, StoreError};
use crate::sync::CallFilter;
use crate::telemetry;
use crate::worker::Worker;
pub use pass::{SweepOutcome, SweepReport, SweepWindow};

/// The sweep's row in the store: its lease and its last outcome.
pub const SWEEP_NAME: &str = "gong_calls";

/// A lease shorter than this would expire under a slow listing.
const MIN_LEASE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("cannot list the calls from Gong: {0}")]
    Gong(#[from] GongError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the sweep's window as RFC 3339 times: {0}")]
    Window(time::error::Format),
    #[error("another process holds the sweep's lease now (it is sweeping); try again later")]
    HeldElsewhere,
}

impl Classify for SweepError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Gong(error) => error.disposition(),
            // The store's trouble passes; so does another process's sweep.
            Self::Store(_) => Disposition::Retry { after: None },
            Self::Window(_) => Disposition::Permanent,
            Self::HeldElsewhere => Disposition::Defer {
                after: Duration::from_secs(60),
            },
        }
    }
}

/// Runs sweeps with the worker's Gong client, rules and store.
pub struct Sweeper {
    worker: Arc<Worker>,
    settings: SweepSettings,
    filter: CallFilter,
    daily_limit: u32,
    /// This process, as the lease's holder.
    holder: String,
}

impl Sweeper {
    pub fn new(worker: Arc<Worker>, settings: SweepSettings, gong_daily_limit: u32) -> Self {
        let filter = CallFilter {
            scope: settings.scope.clone(),
            min_duration: settings.min_duration,
        };
        Self {
            worker,
            settings,
            filter,
            daily_limit: gong_daily_limit,
            holder: uuid::Uuid::now_v7().to_string(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    fn store(&self) -> &Store {
        &self.worker.store
    }

    /// Sweeps whenever a sweep is due (no process swept within `sweep.interval`) and this
    /// process gets the lease, until `stop`. Returns at once when the sweep is disabled.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        if !self.settings.enabled {
            return;
        }
        // Checked more often than the interval, so a replica takes over soon after the
        // holder of an expired lease died, and never more than once a minute.
        let tick = self.settings.interval.min(MIN_LEASE);
        loop {
            // Every failure is logged where it happens; the next tick tries again.
            let _ = self.sweep(self.settings.interval, &stop).await;
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// One sweep now, unless another process is sweeping (`competitor-sync sweep --once`).
    pub async fn sweep_now(&self, stop: &CancellationToken) -> Result<SweepReport, SweepError> {
        self.sweep(Duration::ZERO, stop).await
    }

    /// Takes the lease when no sweep ran within `every`, sweeps, and records the outcome.
    /// [`SweepError::HeldElsewhere`] when it did not get the lease.
    async fn sweep(
        &self,
        every: Duration,
        stop: &CancellationToken,
    ) -> Result<SweepReport, SweepError> {
        let lease = self.settings.interval.max(MIN_LEASE);
        let started = Instant::now();
        let took_lease = self
            .store()
            .try_start_sweep(SWEEP_NAME, &self.holder, every, lease)
            .await
            .inspect_err(|error| tracing::warn!(%error, "cannot take the sweep's lease"))?;
        if !took_lease {
            return Err(SweepError::HeldElsewhere);
        }
        // Ends before the lease does, so no other process starts while this one lists.
        let deadline = started + lease.mul_f64(0.9);
        let result = self.sweep_window(deadline, stop).await;
        let (outcome, text, success) = match &result {
            Ok(report) => (
                report.outcome.label(),
                report.to_string(),
                report.outcome == SweepOutcome::Completed,
            ),
            Err(error) => ("failed", format!("failed: {error}"), false),
        };
        telemetry::sweep_ran(outcome);
        if let Err(error) = self
            .store()
            .finish_sweep(SWEEP_NAME, &self.holder, &text, success)
            .await
        {
            tracing::warn!(%error, "cannot record the sweep's outcome; its lease runs out by itself");
        }
        match &result {
            Ok(report) => tracing::info!(outcome, "catch-up sweep: {report}"),
            Err(error) => {
                tracing::warn!(%error, "the catch-up sweep failed; the next one tries again")
            }
        }
        result
    }
}
