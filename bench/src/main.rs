//! End-to-end benchmark: the real service (release binary, child processes) against local
//! stand-ins for Gong (3 requests/second, 429 beyond) and Salesforce that count every
//! request. Two loads:
//!
//! - a burst (the default): N webhooks as fast as they are accepted; reports acceptance rate
//!   and latency, time to the last Salesforce write, upstream requests per 100 calls and each
//!   replica's peak RSS; on PostgreSQL with several replicas also Gong's busiest second and
//!   the database's connections;
//! - `--quiet N`: N lone calls spaced apart; reports each call's webhook-to-write latency.
//!
//! With `--baseline` the same load then goes to a naive one-request-per-call pipeline
//! (`baseline.rs`) on fresh stand-ins, and a side-by-side table compares the two.
//!
//! Run with `scripts/bench.sh` (builds in release mode first) or
//! `cargo run --release -p competitor-sync-bench -- --help`.

mod baseline;
mod compare;
mod report;
mod runs;
mod services;
mod upstreams;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use compare::Column;
use runs::Pipeline;
use services::StoreKind;
use upstreams::Upstreams;

/// Measures competitor-sync end to end against local Gong and Salesforce stand-ins.
///
/// By default a burst of `--webhooks` webhooks, sent as fast as the service accepts them.
/// With `--quiet N`, N lone calls spaced `--quiet-interval` apart instead, each timed from
/// just before its webhook is sent to the Salesforce stand-in's answer to the write of its
/// Opportunity. With `--baseline`, the same load then goes to a naive one-request-per-call
/// pipeline (one Gong request and one Salesforce update per call, no batching, no retry) on
/// fresh stand-ins, and a Markdown table shows both side by side.
#[derive(Parser)]
#[command(name = "bench", about, long_about)]
pub struct Args {
    /// Webhooks to send in the burst.
    #[arg(long, default_value_t = 1000)]
    webhooks: u64,
    /// Requests in flight at once in the burst.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Instead of a burst, send N lone calls one after the other, each a new call linked to
    /// its own Opportunity, and report their webhook-to-write latency (median / p90 / max).
    #[arg(long, value_name = "N", conflicts_with_all = ["webhooks", "concurrency"])]
    quiet: Option<u64>,
    /// With --quiet: the time from one call's webhook to the next ("2s", "500ms", or
    /// seconds). A call is never sent before the previous one is written, so each is alone.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
    quiet_interval: Duration,
    /// Also run the same load through a naive one-request-per-call pipeline, as a
    /// hand-wired low-code flow would be, and print both side by side. It answers each
    /// webhook 200 at once, then makes one Gong request and one Salesforce update per call
    /// (one token at start); a 429 or error loses the call. --merge, --transcripts, --store
    /// and --replicas apply to the service only.
    #[arg(long)]
    baseline: bool,
    /// Write in merge mode (adds one SOQL read per batch).
    #[arg(long)]
    merge: bool,
    /// Add a transcript rule beside the tracker rule (one more Gong request per batch, to
    /// /v2/calls/transcript, counted with the Gong requests).
    #[arg(long)]
    transcripts: bool,
    /// Where the service keeps its jobs: a SQLite file, or a database on a throw-away
    /// PostgreSQL server the benchmark starts (Debian's postgresql package).
    #[arg(long, value_enum, default_value = "sqlite")]
    store: StoreKind,
    /// Service processes sharing the store (PostgreSQL), the webhooks sent to them in turn.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// The service binary; by default the `competitor-sync` next to this one.
    #[arg(long, value_name = "PATH")]
    service: Option<PathBuf>,
    /// Give up waiting for the last write (with --quiet: for each call's write) after this
    /// many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

const SERVICE: &str = "competitor-sync";
const BASELINE: &str = "baseline (one request per call)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.replicas == 0 || (args.replicas > 1 && args.store == StoreKind::Sqlite) {
        bail!("--replicas above 1 needs --store postgres (one service process per SQLite file)");
    }
    if args.quiet == Some(0) {
        bail!("--quiet needs at least one call");
    }
    let service_binary = match &args.service {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the bench binary has no directory")?
            .join("competitor-sync"),
    };
    if !service_binary.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p competitor-sync) or pass --service",
            service_binary.display()
        );
    }
    let mut columns = vec![match args.quiet {
        Some(calls) => service_quiet(&args, &service_binary, calls).await?,
        None => service_burst(&args, &service_binary).await?,
    }];
    if args.baseline {
        columns.push(baseline(&args).await?);
    }
    if args.baseline || args.quiet.is_some() {
        let order = if args.baseline {
            "Run one after the other in this invocation, competitor-sync first (stopped before \
             the baseline starts), then the baseline, each against fresh stand-ins; the load \
             generator, the stand-ins and the baseline share the machine's cores."
        } else {
            "competitor-sync against the stand-ins; the load generator and the stand-ins share \
             the machine's cores."
        };
        compare::print(&columns, order);
    }
    Ok(())
}

/// The burst through the service, reported as before (acceptance, RSS, connections).
async fn service_burst(args: &Args, binary: &Path) -> anyhow::Result<Column> {
    let upstreams = Arc::new(Upstreams::start().await?);
    let mut pipeline = Pipeline::service(args, binary, &upstreams).await?;
    println!(
        "sending {} webhooks, {} at a time, to {} replica(s) of {} ({} mode{}, {:?} store)",
        args.webhooks,
        args.concurrency,
        args.replicas,
        binary.display(),
        if args.merge { "merge" } else { "overwrite" },
        if args.transcripts {
            ", with a transcript rule"
        } else {
            ""
        },
        args.store,
    );
    let started = Instant::now();
    let (fired, last_write) = runs::burst(args, &pipeline, &upstreams).await?;
    let (mut rss, mut connections) = (Vec::new(), 0);
    if let Some(replicas) = pipeline.replicas() {
        rss = replicas.rss_peaks_kib();
        connections = replicas.connections_peak();
        replicas.stop();
    }
    let mut column = Column::new(
        SERVICE,
        args.webhooks,
        upstreams.written(),
        &upstreams.counters,
        None,
    );
    column.last_write = last_write;
    let last_write = last_write.unwrap_or_else(|| started.elapsed());
    report::print(
        args,
        fired,
        last_write,
        &upstreams.counters,
        &rss,
        connections,
    );
    Ok(column)
}

/// Lone calls through the service.
async fn service_quiet(args: &Args, binary: &Path, calls: u64) -> anyhow::Result<Column> {
    let upstreams = Upstreams::start().await?;
    let mut pipeline = Pipeline::service(args, binary, &upstreams).await?;
    println!(
        "sending {calls} lone calls, one every {:?}, to {} replica(s) of {} ({} mode{}, {:?} store)",
        args.quiet_interval,
        args.replicas,
        binary.display(),
        if args.merge { "merge" } else { "overwrite" },
        if args.transcripts { ", with a transcript rule" } else { "" },
        args.store,
    );
    let quiet = runs::quiet(args, &pipeline, &upstreams, calls).await;
    if let Some(replicas) = pipeline.replicas() {
        replicas.stop();
    }
    let quiet = quiet?;
    let mut column = Column::new(
        SERVICE,
        calls,
        upstreams.written(),
        &upstreams.counters,
        None,
    );
    column.last_write = quiet.last_write;
    column.lone = Some(quiet.latencies);
    Ok(column)
}

/// The same load through the baseline, on stand-ins of its own.
async fn baseline(args: &Args) -> anyhow::Result<Column> {
    let upstreams = Arc::new(Upstreams::start().await?);
    let pipeline = Pipeline::baseline(&upstreams).await?;
    let (sent, last_write, lone) = match args.quiet {
        Some(calls) => {
            println!(
                "sending {calls} lone calls, one every {:?}, to the baseline",
                args.quiet_interval
            );
            let quiet = runs::quiet(args, &pipeline, &upstreams, calls).await?;
            (calls, quiet.last_write, Some(quiet.latencies))
        }
        None => {
            println!(
                "sending {} webhooks, {} at a time, to the baseline",
                args.webhooks, args.concurrency
            );
            let (fired, last_write) = runs::burst(args, &pipeline, &upstreams).await?;
            if fired.refused > 0 {
                println!("the baseline refused {} webhooks", fired.refused);
            }
            (args.webhooks, last_write, None)
        }
    };
    let mut column = Column::new(
        BASELINE,
        sent,
        upstreams.written(),
        &upstreams.counters,
        pipeline.outcomes(),
    );
    column.last_write = last_write;
    column.lone = lone;
    Ok(column)
}

/// A duration as `2s`, `500ms`, `1.5s` or a plain number of seconds.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 2s or 500ms"))?;
    Duration::try_from_secs_f64(value * unit).map_err(|_| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_take_seconds_or_milliseconds() {
        assert_eq!(parse_interval("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_interval("-1s").is_err());
        assert!(parse_interval("soon").is_err());
    }
}
