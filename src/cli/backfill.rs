//! `competitor-sync backfill --from DATE --to DATE`: lists a date range's calls from Gong,
//! queues them as jobs page by page, and (unless --enqueue-only) works through them.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use competitor_sync::gong::CallListing;
use competitor_sync::store::{ListedCall, Page, PageEnqueued, QueueDepth};
use competitor_sync::worker::{self, PoolSettings, Worker};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Time};
use tokio_util::sync::CancellationToken;

/// How often the job counts are read while jobs run.
const REFRESH: Duration = Duration::from_millis(250);

pub struct Options {
    pub from: String,
    pub to: String,
    pub dry_run: bool,
    pub enqueue_only: bool,
    pub restart: bool,
}

/// A date (`2026-09-01`, a whole day in UTC) or an RFC 3339 time, as Gong's filter wants
/// it. A date given as the end of the range includes that day.
pub fn parse_bound(text: &str, end: bool) -> Result<String, String> {
    let time = if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        time
    } else {
        let format = time::format_description::parse_borrowed::<2>("[year]-[month]-[day]")
            .map_err(|e| e.to_string())?;
        let date = Date::parse(text, &format).map_err(|_| {
            format!("`{text}` is neither a date (2026-09-30) nor an RFC 3339 time (2026-09-30T12:00:00Z)")
        })?;
        let date = if end {
            date.next_day()
                .ok_or_else(|| format!("`{text}` is too far in the future"))?
        } else {
            date
        };
        date.with_time(Time::MIDNIGHT).assume_utc()
    };
    time.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| e.to_string())
}

/// What one run did, for the report.
#[derive(Default)]
struct Tally {
    listed: u64,
    enqueued: PageEnqueued,
}

pub async fn run(
    worker: Arc<Worker>,
    pool: PoolSettings,
    options: Options,
) -> anyhow::Result<String> {
    if options.from >= options.to {
        bail!(
            "--from ({}) must be before --to ({})",
            options.from,
            options.to
        );
    }
    // A dry run and a real run of one range are separate: the dry run's jobs wrote nothing.
    let range = format!(
        "{}..{}{}",
        options.from,
        options.to,
        if options.dry_run { " (dry run)" } else { "" }
    );
    let store = worker.store.clone();
    if options.restart {
        store.restart_backfill(&range).await?;
    }
    let interrupted = CancellationToken::new();
    let on_ctrl_c = interrupted.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
            eprintln!("stopping: jobs in flight get the shutdown grace period; Ctrl-C again to quit at once");
        }
        // Nothing is lost by quitting: queued jobs stay queued, and jobs left running are
        // taken up again once their leases expire.
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let bars = Bars::new();
    let stop_workers = CancellationToken::new();
    let workers = (!options.enqueue_only).then(|| {
        tokio::spawn(worker::run_pool(
            Arc::clone(&worker),
            pool,
            stop_workers.clone(),
        ))
    });

    let listing = list(&worker, &range, &options, &bars, &interrupted).await;
    if listing.is_ok() && workers.is_some() {
        follow_jobs(&worker, &range, &bars, &interrupted).await?;
    }
    stop_workers.cancel();
    if let Some(workers) = workers {
        workers.await.context("the workers ended abnormally")?;
    }
    bars.finish();
    let tally = listing?;
    report(
        &worker,
        &range,
        &tally,
        &options,
        interrupted.is_cancelled(),
    )
    .await
}

/// Lists the range from where it stopped, queueing each page's calls.
async fn list(
    worker: &Worker,
    range: &str,
    options: &Options,
    bars: &Bars,
    interrupted: &CancellationToken,
) -> anyhow::Result<Tally> {
    let progress = worker
        .store
        .backfill_progress(range)
        .await?
        .unwrap_or_default();
    let mut tally = Tally::default();
    bars.listed(progress.listed, progress.total);
    if progress.complete {
        return Ok(tally);
    }
    let listing = CallListing {
        from: &options.from,
        to: &options.to,
        workspace_id: None,
        trackers: false,
    };
    let mut cursor = progress.cursor;
    while !interrupted.is_cancelled() {
        let page = tokio::select! {
            page = worker.gong.list_page_patiently(&listing, cursor.as_deref()) => page
                .context("cannot list the calls; run the same command again to resume")?,
            () = interrupted.cancelled() => break,
        };
        let calls: Vec<ListedCall> = page
            .calls
            .iter()
            .map(|listed| ListedCall {
                call_id: listed.call.id.clone(),
                call_data: listed.json.clone(),
            })
            .collect();
        let counts = worker
            .store
            .enqueue_page(
                range,
                Page {
                    calls: &calls,
                    next_cursor: page.next_cursor.as_deref(),
                    total: page.total,
                },
                options.dry_run,
            )
            .await?;
        tally.listed += u64::try_from(calls.len()).unwrap_or_default();
        tally.enqueued.queued += counts.queued;
        tally.enqueued.already_queued += counts.already_queued;
        tally.enqueued.already_done += counts.already_done;
        bars.listed(progress.listed + tally.listed, page.total);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(tally)
}

/// Waits until every job of the range has finished, showing the counts.
async fn follow_jobs(
    worker: &Worker,
    range: &str,
    bars: &Bars,
    interrupted: &CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let jobs = worker.store.backfill_jobs(range).await?;
        bars.jobs(&jobs);
        if jobs.queued + jobs.running == 0 || interrupted.is_cancelled() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            () = interrupted.cancelled() => {}
        }
    }
}

async fn report(
    worker: &Worker,
    range: &str,
    tally: &Tally,
    options: &Options,
    interrupted: bool,
) -> anyhow::Result<String> {
    let progress = worker
        .store
        .backfill_progress(range)
        .await?
        .unwrap_or_default();
    let jobs = worker.store.backfill_jobs(range).await?;
    let mut out = String::new();
    writeln!(out, "backfill {range}")?;
    let total = progress
        .total
        .map_or_else(String::new, |t| format!(" of {t}"));
    writeln!(
        out,
        "listed {}{total} calls ({} this run): {} queued, {} already queued, {} already synced",
        progress.listed,
        tally.listed,
        tally.enqueued.queued,
        tally.enqueued.already_queued,
        tally.enqueued.already_done
    )?;
    writeln!(
        out,
        "jobs: {} done, {} skipped, {} dead, {} waiting",
        jobs.done,
        jobs.skipped,
        jobs.dead,
        jobs.queued + jobs.running
    )?;
    if jobs.dead > 0 {
        writeln!(out, "dead letters: competitor-sync jobs list --status dead")?;
    }
    if interrupted {
        writeln!(
            out,
            "interrupted: run the same command again to resume; nothing is listed or queued twice"
        )?;
    } else if !progress.complete {
        writeln!(
            out,
            "listing stopped early: run the same command again to resume"
        )?;
    } else if options.enqueue_only && jobs.queued + jobs.running > 0 {
        writeln!(out, "the running service works through the queued jobs")?;
    } else if jobs.queued + jobs.running > 0 {
        writeln!(
            out,
            "some jobs wait to be retried; the service (or this command, run again) picks them up"
        )?;
    }
    Ok(out)
}

/// The progress display on stderr: calls listed, and jobs finished. Hidden when stderr is
/// not a terminal.
struct Bars {
    listing: ProgressBar,
    syncing: ProgressBar,
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>8} [{bar:32}] {pos}/{len} {msg} ({elapsed}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let listing = multi.add(ProgressBar::new(0).with_style(style.clone()));
        listing.set_prefix("listed");
        let syncing = multi.add(ProgressBar::new(0).with_style(style));
        syncing.set_prefix("jobs");
        Self { listing, syncing }
    }

    fn listed(&self, listed: u64, total: Option<u64>) {
        self.listing.set_length(total.unwrap_or(listed).max(listed));
        self.listing.set_position(listed);
    }

    fn jobs(&self, jobs: &QueueDepth) {
        let finished = jobs.done + jobs.skipped + jobs.dead;
        self.syncing
            .set_length(finished + jobs.queued + jobs.running);
        self.syncing.set_position(finished);
        self.syncing.set_message(format!(
            "{} done · {} skipped · {} dead",
            jobs.done, jobs.skipped, jobs.dead
        ));
    }

    fn finish(&self) {
        self.listing.finish_and_clear();
        self.syncing.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bound;

    #[test]
    fn dates_are_whole_days_in_utc_and_the_end_day_is_included() {
        assert_eq!(
            parse_bound("2026-09-01", false).as_deref(),
            Ok("2026-09-01T00:00:00Z")
        );
        assert_eq!(
            parse_bound("2026-09-30", true).as_deref(),
            Ok("2026-10-01T00:00:00Z")
        );
        assert_eq!(
            parse_bound("2026-09-30T12:00:00+02:00", true).as_deref(),
            Ok("2026-09-30T10:00:00Z")
        );
        let error = parse_bound("last tuesday", false).expect_err("not a date");
        assert!(error.contains("2026-09-30"), "{error}");
    }
}
