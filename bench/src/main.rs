//! End-to-end benchmark: the real service (release binary, child process) against local
//! stand-ins for Gong (3 requests/second, 429 beyond) and Salesforce that count every
//! request. Fires N webhooks as fast as they are accepted and reports acceptance rate and
//! latency, time to the last Salesforce write, upstream requests per 100 calls and the
//! service's peak RSS.
//!
//! Run with `scripts/bench.sh` (builds in release mode first) or
//! `cargo run --release --bin bench -- --help`.

mod stand_ins;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;
use stand_ins::Counters;
use tokio::net::TcpListener;

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
            "{} not found: build it first (cargo build --release) or pass --service",
            service_binary.display()
        );
    }

    let counters = Arc::new(Counters::default());
    let gong = serve(stand_ins::gong(Arc::clone(&counters))).await?;
    let salesforce_listener = TcpListener::bind("127.0.0.1:0").await?;
    let salesforce_url = format!("http://{}", salesforce_listener.local_addr()?);
    let salesforce_app = stand_ins::salesforce(Arc::clone(&counters), salesforce_url.clone());
    tokio::spawn(async move { axum::serve(salesforce_listener, salesforce_app).await });

    let store = tempfile::tempdir()?;
    let port = free_port()?;
    let mut service = start_service(
        &service_binary,
        store.path(),
        port,
        &gong,
        &salesforce_url,
        args.merge,
    )?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    wait_ready(&http, &base, &mut service).await?;

    let rss_peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let rss_peak = Arc::clone(&rss_peak);
        let pid = service.id();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = rss_kib(pid, "VmRSS") {
                    rss_peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    println!(
        "sending {} webhooks, {} at a time, to {} ({} mode)",
        args.webhooks,
        args.concurrency,
        service_binary.display(),
        if args.merge { "merge" } else { "overwrite" }
    );
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, url, next) = (
            http.clone(),
            format!("{base}/webhooks/gong"),
            Arc::clone(&next),
        );
        let total = args.webhooks;
        senders.spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0u64;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let call_id = format!("{}", 8_000_000_000_000_000u64 + n);
                let body = json!({"isTest": false, "callData": {
                    "metaData": {"id": call_id, "title": "Benchmark call"},
                    "context": [{"system": "Salesforce", "objects": [
                        {"objectType": "Opportunity", "objectId": stand_ins::opportunity_for(&call_id)}
                    ]}]
                }});
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
    let mut latencies = Vec::new();
    let mut refused = 0;
    for (mut part, part_refused) in senders.join_all().await {
        latencies.append(&mut part);
        refused += part_refused;
    }
    let accepting = started.elapsed();
    let accepted = latencies.len();

    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while counters.written() < accepted {
        if Instant::now() > deadline {
            bail!(
                "only {} of {accepted} records written in time",
                counters.written()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last_write = counters
        .last_write
        .lock()
        .ok()
        .and_then(|t| *t)
        .map_or(started.elapsed(), |t| t.duration_since(started));
    sampler.abort();
    let peak_hwm = rss_kib(service.id(), "VmHWM").unwrap_or_default();
    let peak = peak_hwm.max(rss_peak.load(std::sync::atomic::Ordering::Relaxed));
    stop(&mut service);

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
        "| webhooks accepted (202) | {accepted} of {} ({refused} refused) |",
        args.webhooks
    );
    println!(
        "| acceptance rate | {:.0} webhooks/s |",
        accepted as f64 / accepting.as_secs_f64()
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
    println!("| service peak RSS | {:.1} MiB |", peak as f64 / 1024.0);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn serve(app: axum::Router) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_service(
    binary: &PathBuf,
    store: &std::path::Path,
    port: u16,
    gong: &str,
    salesforce: &str,
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
        ("GONG__BASE_URL", gong.to_owned()),
        ("GONG__ACCESS_KEY", "bench".to_owned()),
        ("GONG__ACCESS_KEY_SECRET", "bench".to_owned()),
        ("SALESFORCE__LOGIN_URL", salesforce.to_owned()),
        ("SALESFORCE__CLIENT_ID", "bench".to_owned()),
        ("SALESFORCE__CLIENT_SECRET", "bench".to_owned()),
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
