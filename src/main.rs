//! The `competitor-sync` command line.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use competitor_sync::config::Settings;
use competitor_sync::store::{JobStatus, Store};
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config.config),
        Command::Jobs { config, action } => jobs(config.config, action),
        Command::Check { config } => check(config.config),
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

fn serve(config: Option<PathBuf>) -> anyhow::Result<()> {
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
    print!("{report}");
    for warning in &settings.warnings {
        println!("! {warning}");
    }
    if passed {
        Ok(())
    } else {
        anyhow::bail!("some checks failed")
    }
}

fn jobs(config: Option<PathBuf>, action: JobsAction) -> anyhow::Result<()> {
    let settings = Settings::load_store(config.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let output = runtime.block_on(async {
        let store = Store::connect(&settings.url).await?;
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
    print!("{output}");
    Ok(())
}
