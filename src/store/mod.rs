//! The durable job queue: an embedded SQLite database (WAL) holding every accepted webhook,
//! its attempts and outcome, and an audit trail of what was written.
//!
//! Jobs are claimed with a lease (`lease_id`, `locked_until`) rather than a transaction held
//! open across HTTP calls, which on SQLite would block every incoming webhook.

mod accept;
mod backfill;
mod jobs;
mod oauth;
mod quota;
mod report;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::mpsc;
use write::Writer;

pub use backfill::{BackfillProgress, ListedCall, Page, PageEnqueued};
pub use jobs::{
    Delivery, Disposition as DeliveryDisposition, FieldWrite, Finish, Job, JobEnd, JobStatus,
    NewJob, QueueDepth, Resolution, Target, TargetStatus,
};
pub use quota::Slot;
pub use report::{rfc3339, JobDetail, JobView};

use crate::retry::{Classify, Disposition};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "store.url `{url}` is not a SQLite URL such as sqlite://data/competitor-sync.db: {source}"
    )]
    BadUrl { url: String, source: sqlx::Error },
    #[error("could not create the store's directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not migrate the store's schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored job {id} is unreadable: {problem}")]
    Corrupt { id: String, problem: String },
    #[error("the queue holds its maximum of {limit} jobs (store.max_queued)")]
    QueueFull { limit: u64 },
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store is closed")]
    Closed,
    #[error("the store cannot commit: {0}")]
    CannotCommit(String),
}

impl Classify for StoreError {
    fn disposition(&self) -> Disposition {
        match self {
            // A busy or briefly unavailable database recovers; the job is tried again.
            Self::Database(_) | Self::Unavailable(_) | Self::CannotCommit(_) => {
                Disposition::Retry { after: None }
            }
            _ => Disposition::Permanent,
        }
    }
}

impl StoreError {
    /// A failure of the database itself (disk full, I/O, locked out), as opposed to a refusal
    /// such as a full queue: the write did not happen, and later ones may fail alike.
    fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Database(_) | Self::Unavailable(_) | Self::CannotCommit(_)
        )
    }
}

/// The store. Reads use a pool of connections; every write goes through one connection, so
/// writers queue in the process (in order, without SQLite's sleeping busy handler) instead
/// of contending for the database lock.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    writer: Writer,
    accepts: mpsc::Sender<accept::AcceptRequest>,
    pending: Arc<PendingJobs>,
}

/// How many jobs are waiting or running, and the most allowed. Counted once when the store
/// opens, then moved by every transition the store makes (a job created, a job ended, a dead
/// job queued again), so the bound costs nothing per webhook.
#[derive(Debug, Default)]
struct PendingJobs {
    /// 0 for no limit.
    limit: AtomicU64,
    count: AtomicU64,
}

impl PendingJobs {
    fn ended(&self, jobs: u64) {
        let _ = self
            .count
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(jobs))
            });
    }

    fn added(&self, jobs: u64) {
        self.count.fetch_add(jobs, Ordering::Relaxed);
    }
}

impl Store {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::BadUrl {
                url: url.to_owned(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a 202 promises the job is on disk, so every commit is fsynced. In WAL mode
            // NORMAL survives a process crash but can lose the last commits on power loss.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        create_parent_dir(options.get_filename())?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let writer = Writer::new(writer);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let (accepts, requests) = mpsc::channel(4096);
        let pending = Arc::new(PendingJobs::default());
        tokio::spawn(accept::run_writer(
            writer.clone(),
            Arc::clone(&pending),
            requests,
        ));
        let store = Self {
            pool,
            writer,
            accepts,
            pending,
        };
        store.recount_pending().await?;
        Ok(store)
    }

    /// Bounds the queue: beyond `limit` waiting or running jobs, new ones are refused.
    pub fn with_max_queued(self, limit: Option<u64>) -> Self {
        self.pending
            .limit
            .store(limit.unwrap_or(0), Ordering::Relaxed);
        self
    }

    /// Counts the waiting and running jobs afresh, taking in jobs another process queued
    /// (`jobs retry`, `backfill --enqueue-only`) so `store.max_queued` bounds the real queue.
    /// Read on the writer connection, between accept groups.
    pub async fn recount_pending(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(self.writer.pool())
                .await?;
        let count = u64::try_from(count).unwrap_or_default();
        self.pending.count.store(count, Ordering::Relaxed);
        Ok(count)
    }

    /// For the readiness probe: the store answers, and can commit. A cheap read while writes
    /// succeed; once a write failed (a full disk), a real commit each time until one works,
    /// so the probe turns ready again by itself when space is back.
    pub async fn readiness(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        if let Some(reason) = self.writer.failing() {
            if let Err(error) = self.probe_commit().await {
                tracing::debug!(%error, %reason, "the store still cannot commit");
                return Err(StoreError::CannotCommit(reason));
            }
        }
        Ok(())
    }

    /// Proves the database takes a commit (permissions, disk, locks), touching only the
    /// probe's own row.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        self.probe_commit().await
    }

    async fn probe_commit(&self) -> Result<(), StoreError> {
        self.writer
            .run(async {
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "INSERT INTO store_probe (id, committed_at) VALUES (1, ?1) \
                     ON CONFLICT (id) DO UPDATE SET committed_at = excluded.committed_at",
                )
                .bind(now_ms())
                .execute(tx.conn())
                .await?;
                tx.commit().await
            })
            .await
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    let in_memory = file.as_os_str().is_empty()
        || file.to_string_lossy().starts_with(':')
        || file.to_string_lossy().starts_with("file:");
    match file.parent() {
        Some(dir) if !in_memory && !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            }),
        _ => Ok(()),
    }
}

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A store in a fresh temporary directory, and its URL (to open it again, as a second
/// process would).
#[cfg(test)]
pub(crate) async fn temp_store() -> (tempfile::TempDir, String, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::connect(&url).await.expect("store");
    (dir, url, store)
}
