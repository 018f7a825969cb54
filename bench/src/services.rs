//! The service under test: one or more replicas of the real release binary as child
//! processes, on a SQLite file or on a database of a throw-away PostgreSQL server, with
//! their peak memory and the database's connections sampled while they work.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::ValueEnum;
use competitor_sync_stand_ins::postgres;

use crate::upstreams;

pub const TOKEN: &str = "bench-webhook-token-0123456789";

/// Where the replicas keep their jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// The store the replicas share, and what it takes to read its connection count.
pub struct SharedStore {
    pub url: String,
    pub kind: StoreKind,
    database: Option<(&'static postgres::Server, String)>,
    _dir: tempfile::TempDir,
}

impl SharedStore {
    pub fn create(kind: StoreKind) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (url, database) = match kind {
            StoreKind::Sqlite => (format!("sqlite://{}/jobs.db", dir.path().display()), None),
            StoreKind::Postgres => {
                let server = postgres::Server::shared().map_err(anyhow::Error::msg)?;
                let url = server.fresh_database().map_err(anyhow::Error::msg)?;
                let name = url.rsplit('/').next().unwrap_or_default().to_owned();
                (url, Some((server, name)))
            }
        };
        Ok(Self {
            url,
            kind,
            database,
            _dir: dir,
        })
    }

    /// Connections open on the database now (PostgreSQL only).
    fn connections(&self) -> Option<u64> {
        let (server, name) = self.database.as_ref()?;
        let sql = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'");
        server.query("postgres", &sql).ok()?.parse().ok()
    }

    fn dir(&self) -> &Path {
        self._dir.path()
    }
}

/// The running replicas.
pub struct Replicas {
    pub urls: Vec<String>,
    children: Vec<Child>,
    rss_peaks: Vec<Arc<AtomicU64>>,
    connections_peak: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
}

/// The sync rules the service runs under.
#[derive(Clone, Copy)]
pub struct Rules {
    /// Merge mode (one SOQL read per batch).
    pub merge: bool,
    /// A transcript rule beside the tracker rule (one transcript request per batch).
    pub transcripts: bool,
}

impl Rules {
    fn toml(self) -> String {
        let mode = if self.merge { "merge" } else { "overwrite" };
        let mut toml = format!("[[sync.rules]]\nmode = \"{mode}\"\n");
        if self.transcripts {
            toml = format!(
                "[[sync.competitors]]\nname = \"Clari\"\n\n[[sync.competitors]]\nname = \"Chorus\"\n\n\
                 {toml}\n[[sync.rules]]\nsource = \"transcript\"\nmode = \"{mode}\"\n"
            );
        }
        toml
    }
}

impl Replicas {
    pub async fn start(
        binary: &Path,
        store: &Arc<SharedStore>,
        count: usize,
        upstreams_url: &str,
        rules: Rules,
    ) -> anyhow::Result<Self> {
        let config = store.dir().join("bench.toml");
        std::fs::write(&config, rules.toml())?;
        let http = reqwest::Client::new();
        let mut replicas = Self {
            urls: Vec::new(),
            children: Vec::new(),
            rss_peaks: Vec::new(),
            connections_peak: Arc::new(AtomicU64::new(0)),
            stopping: Arc::new(AtomicBool::new(false)),
        };
        for _ in 0..count {
            let port = free_port()?;
            let mut child = start_one(binary, &config, &store.url, port, upstreams_url)?;
            let url = format!("http://127.0.0.1:{port}");
            wait_ready(&http, &url, &mut child).await?;
            let peak = Arc::new(AtomicU64::new(0));
            tokio::spawn(sample_rss(child.id(), Arc::clone(&peak)));
            replicas.urls.push(url);
            replicas.children.push(child);
            replicas.rss_peaks.push(peak);
        }
        if store.kind == StoreKind::Postgres {
            let (store, peak) = (Arc::clone(store), Arc::clone(&replicas.connections_peak));
            let stopping = Arc::clone(&replicas.stopping);
            tokio::task::spawn_blocking(move || {
                while !stopping.load(Ordering::Relaxed) {
                    if let Some(now) = store.connections() {
                        peak.fetch_max(now, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
            });
        }
        Ok(replicas)
    }

    /// Each replica's peak resident set size, in KiB.
    pub fn rss_peaks_kib(&self) -> Vec<u64> {
        self.children
            .iter()
            .zip(&self.rss_peaks)
            .map(|(child, sampled)| {
                let hwm = rss_kib(child.id(), "VmHWM").unwrap_or_default();
                hwm.max(sampled.load(Ordering::Relaxed))
            })
            .collect()
    }

    /// The most database connections seen open at once (PostgreSQL).
    pub fn connections_peak(&self) -> u64 {
        self.connections_peak.load(Ordering::Relaxed)
    }

    /// SIGTERM to each replica, and waits for it. Each is signalled once: after `wait` its
    /// pid may belong to another process.
    pub fn stop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        for mut child in self.children.drain(..) {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// A run that fails half-way (a write never comes) would otherwise leave the replicas
/// running after the benchmark exits.
impl Drop for Replicas {
    fn drop(&mut self) {
        self.stop();
    }
}

fn start_one(
    binary: &Path,
    config: &Path,
    store_url: &str,
    port: u16,
    upstreams_url: &str,
) -> anyhow::Result<Child> {
    let env = [
        ("SERVER__BIND", format!("127.0.0.1:{port}")),
        ("STORE__URL", store_url.to_owned()),
        ("WEBHOOK__TOKEN", TOKEN.to_owned()),
        ("GONG__BASE_URL", upstreams_url.to_owned()),
        ("GONG__ACCESS_KEY", upstreams::GONG_ACCESS_KEY.to_owned()),
        (
            "GONG__ACCESS_KEY_SECRET",
            upstreams::GONG_ACCESS_KEY_SECRET.to_owned(),
        ),
        ("SALESFORCE__LOGIN_URL", upstreams_url.to_owned()),
        (
            "SALESFORCE__CLIENT_ID",
            upstreams::SALESFORCE_CLIENT_ID.to_owned(),
        ),
        (
            "SALESFORCE__CLIENT_SECRET",
            upstreams::SALESFORCE_CLIENT_SECRET.to_owned(),
        ),
        ("LOG__LEVEL", "warn".to_owned()),
        // The benchmark measures webhook work: a sweep's listing would add to its requests.
        ("SWEEP__ENABLED", "false".to_owned()),
    ];
    Command::new(binary)
        .args(["serve", "--config"])
        .arg(config)
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
    let deadline = Instant::now() + Duration::from_secs(30);
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

/// Keeps the highest resident set size of process `pid` seen every 50 ms.
async fn sample_rss(pid: u32, peak: Arc<AtomicU64>) {
    while let Some(kib) = rss_kib(pid, "VmRSS") {
        peak.fetch_max(kib, Ordering::Relaxed);
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

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
