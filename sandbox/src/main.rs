//! competitor-sync-sandbox: stands in for Gong and Salesforce on one local port, with seeded
//! calls and Opportunities, so competitor-sync can be tried without credentials; and fires
//! signed webhooks at the service for the seeded calls. A development and demo tool, never
//! part of the production image.

mod fire;
mod page;
mod server;
mod signing;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// The demo credentials: the sandbox expects them by default, and config/sandbox.env gives
/// them to the service. They protect nothing; never reuse them.
mod demo {
    pub const GONG_ACCESS_KEY: &str = "sandbox-gong-access-key";
    pub const GONG_ACCESS_KEY_SECRET: &str = "sandbox-gong-access-key-secret";
    pub const SALESFORCE_CLIENT_ID: &str = "sandbox-connected-app";
    pub const SALESFORCE_CLIENT_SECRET: &str = "sandbox-client-secret";
    pub const SALESFORCE_USERNAME: &str = "integration@sandbox.example";
    pub const WEBHOOK_SECRET: &str = "whsec_Y29tcGV0aXRvci1zeW5jLXNhbmRib3gtZGVtby1rZXk=";
}

/// Stand-ins for Gong and Salesforce to try competitor-sync without credentials.
///
/// `serve` (the default) answers as Gong's API (POST /v2/calls/extensive, HTTP Basic auth,
/// cursor pages, 3 requests/second then 429) and as a Salesforce org (OAuth token endpoint
/// with client credentials or JWT bearer, describe, sObject rows and Collections, SOQL,
/// Sforce-Limit-Info), all on one port, with seeded calls and Opportunities (a restricted
/// Competitors picklist and Competitors related lists among their fields). Its page at /
/// lists the Opportunities with their Main Competitors, picklist values and related list;
/// GET /sandbox/opportunities gives them as JSON (/sandbox/opportunities.txt as
/// tab-separated text).
///
/// `fire` sends the seeded calls' webhooks to the service, signed with Standard Webhooks,
/// all but one: that call's delivery is "lost", and the service's catch-up sweep (every 20
/// seconds with config/sandbox.toml) finds it in Gong and writes its Opportunity.
///
/// Every credential defaults to the demo values in config/sandbox.env, so:
///   competitor-sync-sandbox                          # terminal 1
///   set -a; . config/sandbox.env; set +a             # terminal 2
///   competitor-sync serve --config config/sandbox.toml
///   competitor-sync-sandbox fire                     # terminal 3, then open http://127.0.0.1:8081/
#[derive(Parser)]
#[command(
    name = "competitor-sync-sandbox",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Gong and Salesforce stand-ins and the Opportunities page (the default).
    Serve(ServeArgs),
    /// Send the seeded calls' webhooks to the service, signed (Standard Webhooks).
    ///
    /// Prints one line per webhook: the service's status, the call and the job it queued.
    /// Exits non-zero if the service refused any.
    Fire(FireArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on (Gong and Salesforce share it).
    #[arg(long, env = "SANDBOX_BIND", default_value = "127.0.0.1:8081")]
    pub bind: SocketAddr,
    /// URL the service reaches the sandbox at, given as Salesforce's instance_url
    /// [default: http://<bind>, with 127.0.0.1 for 0.0.0.0]. In docker compose:
    /// http://sandbox:8081.
    #[arg(long, env = "SANDBOX_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Gong access key expected in HTTP Basic auth.
    #[arg(long, env = "SANDBOX_GONG_ACCESS_KEY", default_value = demo::GONG_ACCESS_KEY)]
    pub gong_access_key: String,
    /// Gong access key secret expected in HTTP Basic auth.
    #[arg(long, env = "SANDBOX_GONG_ACCESS_KEY_SECRET", default_value = demo::GONG_ACCESS_KEY_SECRET)]
    pub gong_access_key_secret: String,
    /// Calls per page of /v2/calls/extensive (Gong's is 100); lower it to see cursor paging.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub gong_page_size: u16,
    /// Gong requests admitted per second before answering 429 with Retry-After.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub gong_requests_per_second: u32,
    /// Connected app consumer key (client_credentials client_id, JWT bearer iss).
    #[arg(long, env = "SANDBOX_SALESFORCE_CLIENT_ID", default_value = demo::SALESFORCE_CLIENT_ID)]
    pub salesforce_client_id: String,
    /// Connected app consumer secret (client_credentials).
    #[arg(long, env = "SANDBOX_SALESFORCE_CLIENT_SECRET", default_value = demo::SALESFORCE_CLIENT_SECRET)]
    pub salesforce_client_secret: String,
    /// Integration user's username (JWT bearer sub). The assertion's signature is not checked.
    #[arg(long, env = "SANDBOX_SALESFORCE_USERNAME", default_value = demo::SALESFORCE_USERNAME)]
    pub salesforce_username: String,
    /// The org's daily API requests; past them every REST call gets 403 REQUEST_LIMIT_EXCEEDED.
    #[arg(long, default_value_t = 100_000)]
    pub salesforce_daily_api_limit: u64,
}

#[derive(Args)]
struct FireArgs {
    /// The service's webhook URL.
    #[arg(
        long,
        env = "SANDBOX_SERVICE_URL",
        default_value = "http://127.0.0.1:8080/webhooks/gong",
        value_name = "URL"
    )]
    service: String,
    /// Standard Webhooks secret: the service's webhook.hmac_secret [default: the demo secret,
    /// as in config/sandbox.env].
    #[arg(long, env = "SANDBOX_WEBHOOK_SECRET", default_value = demo::WEBHOOK_SECRET, hide_default_value = true)]
    secret: String,
    /// Only this call (repeatable); by default every seeded call but the one whose webhook
    /// was lost (7782342274025937990), which the service's catch-up sweep finds in Gong.
    #[arg(long = "call", value_name = "CALL_ID")]
    calls: Vec<String>,
    /// Flag the webhooks isTest, as Gong's "Test now" does (the service writes nothing).
    #[arg(long)]
    test: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("competitor-sync-sandbox: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve(cli.serve)) {
            Command::Serve(args) => server::run(args).await,
            Command::Fire(args) => {
                fire::run(fire::Delivery {
                    service: args.service,
                    secret: args.secret,
                    calls: args.calls,
                    test: args.test,
                })
                .await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("competitor-sync-sandbox: {error:#}");
            ExitCode::FAILURE
        }
    }
}
