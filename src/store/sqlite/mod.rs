//! The SQLite backend: one embedded database file in WAL mode, for one service process.
//!
//! Its mechanics stay here: reads use a pool of connections, and every write goes through
//! one writer connection, so writers queue in the process (in order, without SQLite's
//! sleeping busy handler) instead of contending for the database lock. Webhooks are
//! committed in groups (see `accept`), the queue bound is an in-memory count kept true by
//! every transition and a periodic recount, and idle workers of this process are woken in
//! memory (other processes on the same file, such as a `backfill` beside the service, find
//! new work by polling).

mod accept;
mod audit;
mod backfill;
mod history;
mod limits;
mod locks;
mod oauth;
mod operator;
mod queue;
mod rows;
mod sweeps;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use write::Writer;

use super::pending::PendingJobs;
use super::StoreError;

/// How often the queue bound takes in jobs queued by other processes.
const RECOUNT_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    accepts: mpsc::Sender<accept::AcceptRequest>,
    pending: Arc<PendingJobs>,
    /// Wakes an idle worker of this process when work arrives.
    work: Arc<Notify>,
    /// Ends the background tasks when the store closes.
    closing: CancellationToken,
}

/// Each reader connection's page cache: negative, in KiB, as SQLite's `cache_size` takes it.
const READER_CACHE_KIB: &str = "-256";

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::BadUrl {
                problem: source.to_string(),
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
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let writer = Writer::new(writer);
        // Readers answer the probes, the console and the claims' look-ups: small, recent pages.
        // SQLite's default page cache (2 MiB per connection) would grow with the file during
        // a long burst, eight times over.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(
                options
                    .read_only(true)
                    .pragma("cache_size", READER_CACHE_KIB),
            )
            .await?;
        let (accepts, requests) = mpsc::channel(4096);
        let pending = Arc::new(PendingJobs::default());
        let work = Arc::new(Notify::new());
        tokio::spawn(accept::run_writer(
            writer.clone(),
            Arc::clone(&pending),
            Arc::clone(&work),
            requests,
        ));
        let store = Self {
            pool,
            writer,
            accepts,
            pending,
            work,
            closing: CancellationToken::new(),
        };
        store.recount_pending().await?;
        Ok(store)
    }

    /// The count is taken afresh every 15 seconds, so jobs other processes queue (`jobs
    /// retry`, `backfill --enqueue-only`) count too.
    pub async fn bound_queue(&self, limit: u64) -> Result<(), StoreError> {
        self.pending.limit.store(limit, Ordering::Relaxed);
        self.recount_pending().await?;
        let store = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(RECOUNT_EVERY) => {
                        if let Err(error) = store.recount_pending().await {
                            tracing::warn!(%error, "could not recount the pending jobs");
                        }
                    }
                    () = store.closing.cancelled() => return,
                }
            }
        });
        Ok(())
    }

    /// Counts the waiting and running jobs afresh. Read on the writer connection, between
    /// accept groups, so no group is counted twice.
    async fn recount_pending(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(self.writer.pool())
                .await?;
        let count = u64::try_from(count).unwrap_or_default();
        self.pending.count.store(count, Ordering::Relaxed);
        Ok(count)
    }

    /// Wakes one idle worker of this process.
    pub fn wake_workers(&self) {
        self.work.notify_one();
    }

    /// Returns when work may have arrived, or after `at_most`.
    pub async fn wait_for_work(&self, at_most: Duration) {
        tokio::select! {
            () = self.work.notified() => {}
            () = tokio::time::sleep(at_most) => {}
        }
    }

    /// A cheap read while writes succeed; once a write failed (a full disk), a real commit
    /// each time until one works, so readiness comes back by itself when space is back.
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

    /// Commits to the probe's own row.
    pub async fn probe_commit(&self) -> Result<(), StoreError> {
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
        self.closing.cancel();
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

/// The backend's clock, Unix milliseconds: the machine's, which every process sharing the
/// file also reads.
fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
