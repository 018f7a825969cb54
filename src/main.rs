//! The `competitor-sync` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use competitor_sync::config::Settings;
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
        /// TOML file with settings that override the defaults.
        #[arg(long, value_name = "PATH", env = "COMPETITOR_SYNC_CONFIG")]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config),
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
