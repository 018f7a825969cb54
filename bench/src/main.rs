//! End-to-end benchmark: the real service (release binary, child processes) against local
//! stand-ins for Gong (3 requests/second, 429 beyond) and Salesforce that count every
//! request. Fires N webhooks as fast as they are accepted and reports acceptance rate and
//! latency, time to the last Salesforce write, upstream requests per 100 calls and each
//! replica's peak RSS; on PostgreSQL with several replicas also Gong's busiest second and
//! the database's connections.
//!
//! Run with `scripts/bench.sh` (builds in release mode first) or
//! `cargo run --release -p competitor-sync-bench -- --help`.

mod report;
mod services;
mod upstreams;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use services::{Replicas, Rules, SharedStore, StoreKind, TOKEN};
use upstreams::Upstreams;

/// Measures competitor-sync end to end against local Gong and Salesforce stand-ins.
#[derive(Parser)]
#[command(name = "bench", about, long_about)]
pub struct Args {
    /// Webhooks to send.
    #[arg(long, default_value_t = 1000)]
    webhooks: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
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
    /// Give up waiting for the last write after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

/// How the webhooks were received.
pub struct Fired {
    /// Of each accepted webhook, how long the service took to answer 202.
    pub latencies: Vec<Duration>,
    pub refused: u64,
    /// From the first webhook sent to the last answer.
    pub elapsed: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.replicas == 0 || (args.replicas > 1 && args.store == StoreKind::Sqlite) {
        bail!("--replicas above 1 needs --store postgres (one service process per SQLite file)");
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
    let upstreams = Arc::new(Upstreams::start().await?);
    let store = Arc::new(SharedStore::create(args.store)?);
    let mut replicas = Replicas::start(
        &service_binary,
        &store,
        args.replicas,
        &upstreams.url,
        Rules {
            merge: args.merge,
            transcripts: args.transcripts,
        },
    )
    .await?;
    println!(
        "sending {} webhooks, {} at a time, to {} replica(s) of {} ({} mode{}, {:?} store)",
        args.webhooks,
        args.concurrency,
        args.replicas,
        service_binary.display(),
        if args.merge { "merge" } else { "overwrite" },
        if args.transcripts {
            ", with a transcript rule"
        } else {
            ""
        },
        args.store,
    );
    let started = Instant::now();
    let fired = fire(&args, &replicas.urls, &upstreams).await?;
    let accepted = fired.latencies.len();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while upstreams.written() < accepted {
        if Instant::now() > deadline {
            bail!(
                "only {} of {accepted} records written in time",
                upstreams.written()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last_write = upstreams
        .counters
        .last_write()
        .map_or(started.elapsed(), |t| t.duration_since(started));
    let rss = replicas.rss_peaks_kib();
    let connections = replicas.connections_peak();
    replicas.stop();
    report::print(
        &args,
        fired,
        last_write,
        &upstreams.counters,
        &rss,
        connections,
    );
    Ok(())
}

/// Sends the webhooks from `args.concurrency` tasks, to the replicas in turn, each call given
/// to Gong just before its webhook is sent.
async fn fire(
    args: &Args,
    replicas: &[String],
    upstreams: &Arc<Upstreams>,
) -> anyhow::Result<Fired> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let urls: Arc<Vec<String>> = Arc::new(
        replicas
            .iter()
            .map(|base| format!("{base}/webhooks/gong"))
            .collect(),
    );
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, urls, next) = (http.clone(), Arc::clone(&urls), Arc::clone(&next));
        let upstreams = Arc::clone(upstreams);
        let total = args.webhooks;
        senders.spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let body = upstreams.add_call(n);
                let url = &urls[usize::try_from(n).unwrap_or_default() % urls.len()];
                let sent = Instant::now();
                let response = http.post(url).bearer_auth(TOKEN).json(&body).send().await;
                match response {
                    Ok(r) if r.status().as_u16() == 202 => latencies.push(sent.elapsed()),
                    _ => refused += 1,
                }
            }
            (latencies, refused)
        });
    }
    let mut fired = Fired {
        latencies: Vec::new(),
        refused: 0,
        elapsed: Duration::ZERO,
    };
    for (mut latencies, refused) in senders.join_all().await {
        fired.latencies.append(&mut latencies);
        fired.refused += refused;
    }
    fired.elapsed = started.elapsed();
    Ok(fired)
}
