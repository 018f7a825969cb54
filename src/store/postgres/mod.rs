//! The PostgreSQL backend: one database shared by several service replicas (and the CLI).
//!
//! Its mechanics stay here. Every time that decides something shared (due jobs, leases,
//! slots, holds, pauses) is the database's (`now_ms()`, a function of the schema), never a
//! replica's. Deliveries are committed in groups, each group taking a transaction-scoped
//! advisory lock per call (in one order) so deliveries of one call reaching two replicas at
//! once are decided one after the other. Jobs are claimed with `FOR UPDATE SKIP LOCKED` under
//! a lease. Idle workers of every replica are woken by `LISTEN`/`NOTIFY` (debounced: one
//! `NOTIFY` per burst, since `NOTIFY` serialises commits), with polling as the fallback, and
//! without it when `store.notify` is off (poolers in transaction mode).

mod accept;
mod audit;
mod backfill;
mod group;
mod history;
mod limits;
mod locks;
mod notify;
mod oauth;
mod operator;
mod queue;
mod rows;
mod startup;
mod sweeps;

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::pending::PendingJobs;
use super::{StoreError, StoreOptions};

/// How often the queue bound takes in jobs queued by other replicas.
const RECOUNT_EVERY: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    accepts: mpsc::Sender<accept::AcceptRequest>,
    pending: Arc<PendingJobs>,
    /// Wakes an idle worker of this replica.
    work: Arc<Notify>,
    /// Tells the other replicas' workers (debounced `NOTIFY`); `None` with `store.notify` off.
    announce: Option<Arc<Notify>>,
    closing: CancellationToken,
}

impl PgStore {
    /// Connects (TLS as the URL asks, the password from the URL or `PGPASSWORD`), waiting a
    /// while for a server not yet reachable, and brings the schema up to date
    /// ([`startup::open_pool`]).
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url).map_err(|source| StoreError::BadUrl {
            problem: redact_error(&source, url),
        })?;
        let pool = startup::open_pool(
            &connect,
            options.max_connections,
            startup::Patience::default(),
        )
        .await?;
        let (accepts, requests) = mpsc::channel(4096);
        let pending = Arc::new(PendingJobs::default());
        let work = Arc::new(Notify::new());
        let closing = CancellationToken::new();
        let announce = options.notify.then(|| {
            let announce = Arc::new(Notify::new());
            tokio::spawn(notify::announce(
                pool.clone(),
                Arc::clone(&announce),
                closing.clone(),
            ));
            tokio::spawn(notify::listen(
                pool.clone(),
                Arc::clone(&work),
                closing.clone(),
            ));
            announce
        });
        let store = Self {
            pool,
            accepts,
            pending,
            work,
            announce,
            closing,
        };
        tokio::spawn(accept::run_writer(store.clone(), requests));
        store.recount_pending().await?;
        Ok(store)
    }

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

    async fn recount_pending(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')")
                .fetch_one(&self.pool)
                .await?;
        let count = u64::try_from(count).unwrap_or_default();
        self.pending.count.store(count, Ordering::Relaxed);
        Ok(count)
    }

    /// New work: wake a worker here, and (debounced) every other replica's.
    fn work_arrived(&self) {
        self.work.notify_one();
        if let Some(announce) = &self.announce {
            announce.notify_one();
        }
    }

    pub fn wake_workers(&self) {
        self.work.notify_one();
    }

    pub async fn wait_for_work(&self, at_most: Duration) {
        tokio::select! {
            () = self.work.notified() => {}
            () = tokio::time::sleep(at_most) => {}
        }
    }

    pub async fn readiness(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn probe_commit(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO store_probe (id, committed_at) VALUES (1, now_ms()) \
             ON CONFLICT (id) DO UPDATE SET committed_at = EXCLUDED.committed_at",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.closing.cancel();
        self.pool.close().await;
    }
}

/// A URL parse error without the URL's password, should the message quote it.
fn redact_error(error: &sqlx::Error, url: &str) -> String {
    let text = error.to_string();
    match super::url_password(url) {
        Some(password) => text.replace(password, "***"),
        None => text,
    }
}
