//! The `competitor-sync` command line.

mod cli;

#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

/// `mi_option_purge_delay` of mimalloc's `mi_option_e` (mimalloc.h), which the sys crate does
/// not name: the option before `use_numa_nodes`.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

/// Freed memory goes back to the system at once rather than a second later (mimalloc 3's
/// default): a burst's freed buffers otherwise stay resident while new ones are allocated,
/// about 10 MiB more at the peak, at no measured gain in speed (docs/benchmarks.md).
/// `MIMALLOC_PURGE_DELAY` in the environment still decides when it is set.
fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options, which it reads at each purge.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use competitor_sync::config::Settings;
use competitor_sync::store::JobStatus;
use competitor_sync::worker::Worker;
use competitor_sync::{app, telemetry, Application};

/// Writes the competitors Gong hears on sales calls into the linked Salesforce Opportunities.
///
/// Configuration comes from the built-in defaults (config/default.toml), then the file given
/// with --config, then environment variables named COMPETITOR_SYNC__<SECTION>__<KEY>, for
/// example COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET. Secrets belong in the environment.
#[derive(Parser)]
#[command(name = "competitor-sync", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct ConfigArg {
    /// TOML file with settings that override the defaults.
    #[arg(
        long,
        value_name = "PATH",
        env = "COMPETITOR_SYNC_CONFIG",
        global = true
    )]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the webhook service and its background workers.
    ///
    /// Listens on server.bind (default 0.0.0.0:8080) for Gong webhooks at POST /webhooks/gong,
    /// with GET /healthz, GET /readyz and GET /metrics beside it, and the dead-letter API under
    /// /admin/jobs when admin.token is set. Stops cleanly on SIGTERM or Ctrl-C: no new
    /// webhooks, jobs in flight finish or are released for the next start.
    ///
    /// Example:
    ///   COMPETITOR_SYNC__WEBHOOK__TOKEN=$(openssl rand -hex 32) \
    ///   COMPETITOR_SYNC__GONG__ACCESS_KEY=... COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET=... \
    ///   COMPETITOR_SYNC__SALESFORCE__LOGIN_URL=https://acme.my.salesforce.com \
    ///   COMPETITOR_SYNC__SALESFORCE__CLIENT_ID=... COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET=... \
    ///   competitor-sync serve
    #[command(verbatim_doc_comment)]
    Serve {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Check the configuration and the outside world before going live.
    ///
    /// One line per check: the configuration, webhook authentication, the store, the Gong
    /// credentials (one cheap request), the Salesforce token, and each rule's field (exists,
    /// updateable, its length). Exits 0 only when every check passes.
    ///
    /// Example:
    ///   competitor-sync check --config /config/competitor-sync.toml
    #[command(verbatim_doc_comment)]
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run the pipeline for one call now and print what it found and wrote.
    ///
    /// Fetches the call from Gong, finds its linked records and competitors, and writes them
    /// to Salesforce, like the service does for a webhook, and records the job in the store
    /// (see `jobs show`). Exits 0 when the call was synced or skipped for a reason (such as no
    /// linked Opportunity), 1 when it failed or must be retried.
    ///
    /// Examples:
    ///   competitor-sync sync --call-id 7782342274025937895
    ///   competitor-sync sync --call-id 7782342274025937895 --dry-run
    #[command(verbatim_doc_comment)]
    Sync {
        #[command(flatten)]
        config: ConfigArg,
        /// The Gong call id (the number in the call's URL: app.gong.io/call?id=...).
        #[arg(long, value_name = "ID")]
        call_id: String,
        /// Do everything but the Salesforce write, and print what would have been written.
        #[arg(long)]
        dry_run: bool,
    },
    /// Sync every call of a date range: for a first deployment, or after an outage.
    ///
    /// Lists the calls that started in the range from Gong (page by page, through the same
    /// rate limits as the service), queues a job for each call that has not been synced yet,
    /// and works through them with a progress bar. Stopped with Ctrl-C, it resumes where it
    /// was when run again with the same range: nothing is listed or queued twice. Dates are
    /// whole days in UTC and --to is included; RFC 3339 times are taken as they are.
    ///
    /// With the service running on the same store, add --enqueue-only: this command then
    /// only lists and queues, and the service does the work.
    ///
    /// Examples:
    ///   competitor-sync backfill --from 2026-07-01 --to 2026-09-30
    ///   competitor-sync backfill --from 2026-07-01 --to 2026-09-30 --dry-run
    ///   competitor-sync backfill --from 2026-11-01 --to 2026-11-24 --enqueue-only
    #[command(verbatim_doc_comment)]
    Backfill {
        #[command(flatten)]
        config: ConfigArg,
        /// First day (or time) of the range: calls that started then or later.
        #[arg(long, value_name = "DATE", value_parser = |s: &str| cli::backfill::parse_bound(s, false))]
        from: String,
        /// Last day of the range, included (or a time, excluded).
        #[arg(long, value_name = "DATE", value_parser = |s: &str| cli::backfill::parse_bound(s, true))]
        to: String,
        /// Do everything but the Salesforce writes; `jobs show` tells what each would write.
        #[arg(long)]
        dry_run: bool,
        /// Only list and queue; leave the jobs to the running service.
        #[arg(long)]
        enqueue_only: bool,
        /// List the range from its first page again, even if an earlier run completed it
        /// (calls already synced are still not queued again).
        #[arg(long)]
        restart: bool,
    },
    /// Run one catch-up sweep now: queue the calls whose webhook never came.
    ///
    /// The service sweeps by itself every sweep.interval (one replica at a time); this runs
    /// one at once. It lists the calls Gong has from sweep.lookback ago to sweep.min_age
    /// ago, with their CRM context and trackers, and queues a job for each call that has
    /// none, passes the sweep's filter and has something to write; the running service does
    /// the work. Prints what it listed, found known and queued. Exits 0 when the window was
    /// listed (or the sweep stopped at sweep.reserve), 1 when Gong could not be read or
    /// another process is sweeping now.
    ///
    /// Example:
    ///   competitor-sync sweep --once
    #[command(verbatim_doc_comment)]
    Sweep {
        #[command(flatten)]
        config: ConfigArg,
        /// Sweep once and exit (the service itself sweeps every sweep.interval).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Inspect, replay and tidy the jobs in the store.
    ///
    /// Reads the store named by store.url (the service may be running); needs no Gong or
    /// Salesforce credentials.
    ///
    /// Examples:
    ///   competitor-sync jobs list --status dead
    ///   competitor-sync jobs show 0195c1a2-7d4e-7c3b-9a51-3f0e8b6d2a10
    ///   competitor-sync jobs retry --all-dead
    ///   competitor-sync jobs purge --older-than 30d
    #[command(verbatim_doc_comment)]
    Jobs {
        #[command(flatten)]
        config: ConfigArg,
        #[command(subcommand)]
        action: JobsAction,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only jobs for this Gong call.
        #[arg(long, value_name = "ID")]
        call_id: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one job: attempts, errors, each record's outcome and the values written.
    Show {
        /// The job id (from `jobs list`, the webhook's answer, or the logs).
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead job again (fresh attempts; records already written are not rewritten).
    #[command(group(ArgGroup::new("which").required(true).args(["id", "all_dead"])))]
    Retry {
        /// The dead job to retry.
        id: Option<String>,
        /// Retry every dead job.
        #[arg(long)]
        all_dead: bool,
    },
    /// Delete finished jobs (done, skipped, dead) last updated before an age, with their
    /// deliveries and audit rows. Queued and running jobs are never deleted.
    Purge {
        /// Age such as 30d, 12h or 90m.
        #[arg(long, value_name = "AGE", value_parser = humantime::parse_duration)]
        older_than: Duration,
    },
}

/// Job states, as `--status` takes them.
#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Queued,
    Running,
    Done,
    Skipped,
    Dead,
}

impl From<StatusArg> for JobStatus {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Queued => Self::Queued,
            StatusArg::Running => Self::Running,
            StatusArg::Done => Self::Done,
            StatusArg::Skipped => Self::Skipped,
            StatusArg::Dead => Self::Dead,
        }
    }
}

/// No transparent huge pages for this process. mimalloc asks for them on its arenas
/// (`madvise(MADV_HUGEPAGE)`), and each 2 MiB page becomes resident as a whole as soon as one
/// of its bytes is touched: a 6,000-call burst peaked at 46 to 58 MiB with them and 29 MiB
/// without, at the same acceptance speed (docs/benchmarks.md). `MIMALLOC_ALLOW_THP=1` in the
/// environment keeps them.
fn keep_heap_pages_small() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: sets a flag of this process; no memory is passed. A kernel without the
        // call (before 3.15) answers EINVAL, and the process runs as before.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    keep_heap_pages_small();
    return_freed_memory_promptly();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config.config),
        Command::Jobs { config, action } => jobs(config.config, action),
        Command::Sweep { config, once: _ } => sweep(config.config),
        Command::Check { config } => check(config.config),
        Command::Sync {
            config,
            call_id,
            dry_run,
        } => sync(config.config, &call_id, dry_run),
        Command::Backfill {
            config,
            from,
            to,
            dry_run,
            enqueue_only,
            restart,
        } => backfill(
            config.config,
            cli::backfill::Options {
                from,
                to,
                dry_run,
                enqueue_only,
                restart,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole cause chain; no backtrace for an operator's mistake.
            eprintln!("competitor-sync: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a command's output; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write to stdout"),
    }
}

fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let settings = Settings::load(config.as_deref())?;
    telemetry::init_logging(&settings.log);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let app = Application::build(settings).await?;
        let addr = app
            .local_addr()
            .context("cannot read the listening address")?;
        tracing::info!(%addr, version = env!("CARGO_PKG_VERSION"), "competitor-sync listening");
        app.run_until(app::shutdown_signal())
            .await
            .context("the HTTP server failed")
    })
}

fn check(config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            println!("✗ configuration: {error}");
            anyhow::bail!("the configuration is not valid; no other check was run");
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let (report, passed) = runtime.block_on(cli::check::run(&settings));
    emit(&report)?;
    for warning in &settings.warnings {
        emit(&format!("! {warning}\n"))?;
    }
    if passed {
        Ok(())
    } else {
        anyhow::bail!("some checks failed")
    }
}

/// Runs a one-off command with the service's worker (its store, Gong and Salesforce clients)
/// and closes the store after it. No start-up recovery here: the service may be running on
/// this store, and its jobs must keep their leases (jobs a crashed run left running are due
/// once theirs expire).
fn with_worker<T, F, Fut>(config: Option<PathBuf>, command: F) -> anyhow::Result<T>
where
    F: FnOnce(Settings, Arc<Worker>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let settings = Settings::load(config.as_deref())?;
    telemetry::init_cli_logging();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = app::open_store(&settings.store).await?;
        let worker = Arc::new(app::build_worker(&settings, &store)?);
        let result = command(settings, worker).await;
        store.close().await;
        result
    })
}

fn sync(config: Option<PathBuf>, call_id: &str, dry_run: bool) -> anyhow::Result<()> {
    let report = with_worker(config, |_, worker| async move {
        cli::sync::run(&worker, call_id, dry_run).await
    })?;
    emit(&report.text)?;
    if report.succeeded {
        Ok(())
    } else {
        anyhow::bail!("the call was not synced")
    }
}

fn backfill(config: Option<PathBuf>, options: cli::backfill::Options) -> anyhow::Result<()> {
    let report = with_worker(config, |settings, worker| async move {
        cli::backfill::run(worker, app::pool_settings(&settings), options).await
    })?;
    emit(&report)
}

fn sweep(config: Option<PathBuf>) -> anyhow::Result<()> {
    let report = with_worker(config, |settings, worker| async move {
        cli::sweep::run(&app::build_sweeper(&settings, &worker)).await
    })?;
    emit(&report)
}

fn jobs(config: Option<PathBuf>, action: JobsAction) -> anyhow::Result<()> {
    let settings = Settings::load_store(config.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let output = runtime.block_on(async {
        let store = app::open_store(&settings).await?;
        let output = match action {
            JobsAction::List {
                status,
                call_id,
                limit,
                json,
            } => {
                cli::jobs::list(
                    &store,
                    status.map(Into::into),
                    call_id.as_deref(),
                    limit,
                    json,
                )
                .await
            }
            JobsAction::Show { id, json } => cli::jobs::show(&store, &id, json).await,
            JobsAction::Retry { id, all_dead } => {
                cli::jobs::retry(&store, id.as_deref(), all_dead).await
            }
            JobsAction::Purge { older_than } => cli::jobs::purge(&store, older_than).await,
        };
        store.close().await;
        output
    })?;
    emit(&output)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{keep_heap_pages_small, Cli, MI_OPTION_PURGE_DELAY};

    #[test]
    fn the_process_runs_without_transparent_huge_pages() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            keep_heap_pages_small();
            // SAFETY: reads a flag of this process.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1, "PR_GET_THP_DISABLE");
        }
    }

    #[test]
    fn the_purge_delay_option_is_the_one_mimalloc_defaults_to_a_second() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one of mimalloc's options.
            let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
            assert_eq!(delay, 1000, "mimalloc 3's options.c: purge_delay (=1000)");
        }
    }

    /// clap's own checks of the definition (conflicting names, bad defaults, groups naming
    /// missing arguments), which otherwise fail only when the faulty path is parsed.
    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
