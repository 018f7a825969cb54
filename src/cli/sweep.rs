//! `competitor-sync sweep --once`: one catch-up sweep now, with a summary.

use std::fmt::Write;

use anyhow::Context;
use competitor_sync::sweep::{SweepOutcome, Sweeper};
use tokio_util::sync::CancellationToken;

/// Sweeps once (whether or not a sweep ran lately, and whatever `sweep.enabled` says) and
/// describes what it found. An error when the sweep could not run or list its window.
pub async fn run(sweeper: &Sweeper) -> anyhow::Result<String> {
    let stop = CancellationToken::new();
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let report = sweeper
        .sweep_now(&stop)
        .await
        .context("the sweep did not run")?;
    let mut out = String::new();
    writeln!(out, "sweep {}..{}", report.window.from, report.window.to)?;
    writeln!(
        out,
        "listed {} calls: {} already known, {} queued, {} with nothing to write yet, {} outside the filter",
        report.listed,
        report.already_known,
        report.queued.len(),
        report.nothing_to_write,
        report.outside_filter
    )?;
    if !report.queued.is_empty() {
        writeln!(
            out,
            "queued (no webhook came for them): {}",
            report.queued.join(", ")
        )?;
        writeln!(out, "the service works through the queued jobs")?;
    }
    match report.outcome {
        SweepOutcome::Completed => {}
        SweepOutcome::StoppedAtReserve { left } => writeln!(
            out,
            "stopped early: {left} of today's Gong requests are left, below sweep.reserve"
        )?,
        SweepOutcome::Incomplete => writeln!(
            out,
            "stopped before the last page; the service's next sweep lists the window again"
        )?,
    }
    Ok(out)
}
