//! End-to-end benchmark: the real service (release binary, child process) against the local
//! stand-ins for Gong (3 requests/second, 429 beyond) and Salesforce, counting every request.
//! Fires N webhooks as fast as they are accepted and reports acceptance rate and latency,
//! time to the last Salesforce write, upstream requests per 100 calls and the service's peak
//! RSS.
//!
//! Run with `scripts/bench.sh` (builds in release mode first) or
//! `cargo run --release --bin bench -- --help`.

mod upstreams;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use upstreams::{Counters, Upstreams};

const TOKEN: &str = "bench-webhook-token-0123456789";

/// Measures competitor-sync end to end against local Gong and Salesforce stand-ins.
#[derive(Parser)]
#[command(name = "bench", about, long_about)]
struct Args {
    /// Webhooks to send.
    #[arg(long, default_value_t = 1000)]
    webhooks: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Write in merge mode (adds one SOQL read per batch).
    #[arg(long)]
    merge: bool,
    /// The service binary; by default the `competitor-sync` next to this one.
    #[arg(long, value_name = "PATH")]
    service: Option<PathBuf>,
    /// Give up waiting for the last write after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

/// How the webhooks were received.
struct Fired {
    /// Of each accepted webhook, how long the service took to answer 202.
    latencies: Vec<Duration>,
    refused: u64,
    /// From the first webhook sent to the last answer.
    elapsed: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
    let store = tempfile::tempdir()?;
    let port = free_port()?;
    let mut service = start_service(
        &service_binary,
        store.path(),
        port,
        &upstreams.url,
        args.merge,
    )?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    wait_ready(&http, &base, &mut service).await?;

    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn(sample_rss(service.id(), Arc::clone(&rss_peak)));
    println!(
        "sending {} webhooks, {} at a time, to {} ({} mode)",
        args.webhooks,
        args.concurrency,
        service_binary.display(),
        if args.merge { "merge" } else { "overwrite" }
    );
    let started = Instant::now();
    let fired = fire(&args, &http, &format!("{base}/webhooks/gong"), &upstreams).await;
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
    sampler.abort();
    let peak_hwm = rss_kib(service.id(), "VmHWM").unwrap_or_default();
    let peak = peak_hwm.max(rss_peak.load(Ordering::Relaxed));
    stop(&mut service);
    report(&args, fired, last_write, &upstreams.counters, peak);
    Ok(())
}

/// Sends the webhooks from `args.concurrency` tasks, each call given to Gong just before its
/// webhook is sent.
async fn fire(args: &Args, http: &reqwest::Client, url: &str, upstreams: &Arc<Upstreams>) -> Fired {
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, url, next) = (http.clone(), url.to_owned(), Arc::clone(&next));
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
                let sent = Instant::now();
                let response = http.post(&url).bearer_auth(TOKEN).json(&body).send().await;
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
    fired
}

/// The results as a Markdown table, as docs/benchmarks.md shows them.
fn report(args: &Args, mut fired: Fired, last_write: Duration, counters: &Counters, peak_kib: u64) {
    let accepted = fired.latencies.len();
    let latencies = &mut fired.latencies;
    latencies.sort();
    let quantile = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    let per_100 = |count: u64| count as f64 * 100.0 / accepted.max(1) as f64;
    let gong_requests = Counters::get(&counters.gong_requests);
    let gong_429 = Counters::get(&counters.gong_throttled);
    let sf_data = Counters::get(&counters.salesforce_update)
        + Counters::get(&counters.salesforce_query)
        + Counters::get(&counters.salesforce_describe);
    let sf_token = Counters::get(&counters.salesforce_token);

    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| webhooks accepted (202) | {accepted} of {} ({} refused) |",
        args.webhooks, fired.refused
    );
    println!(
        "| acceptance rate | {:.0} webhooks/s |",
        accepted as f64 / fired.elapsed.as_secs_f64()
    );
    println!(
        "| acceptance latency p50 / p99 / max | {:.1} ms / {:.1} ms / {:.1} ms |",
        ms(quantile(0.50)),
        ms(quantile(0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "| time until the last Opportunity is written | {:.2} s |",
        last_write.as_secs_f64()
    );
    println!(
        "| Gong requests | {gong_requests} ({gong_429} answered 429), {:.2} per 100 calls |",
        per_100(gong_requests)
    );
    println!(
        "| Salesforce API requests | {sf_data} ({} collection updates, {} queries, {} describes), {:.2} per 100 calls; plus {sf_token} token request(s) |",
        Counters::get(&counters.salesforce_update),
        Counters::get(&counters.salesforce_query),
        Counters::get(&counters.salesforce_describe),
        per_100(sf_data)
    );
    println!("| service peak RSS | {:.1} MiB |", peak_kib as f64 / 1024.0);
}

/// Keeps the highest resident set size of process `pid` seen every 50 ms.
async fn sample_rss(pid: u32, peak: Arc<AtomicU64>) {
    loop {
        if let Some(kib) = rss_kib(pid, "VmRSS") {
            peak.fetch_max(kib, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The service on `port`, its store in `store`, Gong and Salesforce at `upstreams`.
fn start_service(
    binary: &Path,
    store: &Path,
    port: u16,
    upstreams: &str,
    merge: bool,
) -> anyhow::Result<Child> {
    let config = store.join("bench.toml");
    let rules = if merge {
        "[[sync.rules]]\nmode = \"merge\"\n"
    } else {
        ""
    };
    std::fs::write(&config, rules)?;
    let env = [
        ("SERVER__BIND", format!("127.0.0.1:{port}")),
        (
            "STORE__URL",
            format!("sqlite://{}/jobs.db", store.display()),
        ),
        ("WEBHOOK__TOKEN", TOKEN.to_owned()),
        ("GONG__BASE_URL", upstreams.to_owned()),
        ("GONG__ACCESS_KEY", upstreams::GONG_ACCESS_KEY.to_owned()),
        (
            "GONG__ACCESS_KEY_SECRET",
            upstreams::GONG_ACCESS_KEY_SECRET.to_owned(),
        ),
        ("SALESFORCE__LOGIN_URL", upstreams.to_owned()),
        (
            "SALESFORCE__CLIENT_ID",
            upstreams::SALESFORCE_CLIENT_ID.to_owned(),
        ),
        (
            "SALESFORCE__CLIENT_SECRET",
            upstreams::SALESFORCE_CLIENT_SECRET.to_owned(),
        ),
        ("LOG__LEVEL", "warn".to_owned()),
    ];
    Command::new(binary)
        .args(["serve", "--config"])
        .arg(&config)
        .envs(
            env.iter()
                .map(|(k, v)| (format!("COMPETITOR_SYNC__{k}"), v)),
        )
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the service")
}

async fn wait_ready(http: &reqwest::Client, base: &str, service: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = service.try_wait()? {
            bail!("the service exited at start-up: {status}");
        }
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the service did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A memory figure of a process from /proc (Linux), in KiB.
fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

fn stop(service: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let _ = service.wait();
}
