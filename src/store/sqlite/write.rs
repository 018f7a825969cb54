//! The single writer connection and its transactions.
//!
//! Transactions are driven with `BEGIN IMMEDIATE` / `COMMIT` statements rather than sqlx's
//! transaction tracking, and a transaction that does not commit closes its connection (the
//! pool opens a fresh one for the next writer). A commit that fails (a full disk) must never
//! leave the one writer connection believing it is still inside a transaction: every later
//! write would fail with it, also after the space came back.

use std::sync::{Arc, Mutex, PoisonError};

use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Sqlite, SqlitePool};

use super::StoreError;

/// The writer pool (one connection) and what the last writes said about the disk.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    pool: SqlitePool,
    health: Arc<WriteHealth>,
}

/// Why the last write failed, until a transaction commits again.
#[derive(Debug, Default)]
struct WriteHealth {
    failing: Mutex<Option<String>>,
}

impl Writer {
    pub(super) fn new(pool: SqlitePool) -> Self {
        Self {
            pool,
            health: Arc::default(),
        }
    }

    /// The pool, for single statements (each its own implicit transaction). Run them
    /// through [`Writer::run`] so a failure is noticed.
    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a write transaction, taking SQLite's write lock at once.
    pub(super) async fn begin(&self) -> Result<WriteTx, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if let Err(error) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(error.into());
        }
        Ok(WriteTx {
            conn,
            health: Arc::clone(&self.health),
            ended: false,
        })
    }

    /// Awaits a write and remembers a failure, so readiness can tell the store cannot
    /// commit (only a commit clears it: a statement that changed nothing proves nothing).
    pub(super) async fn run<T>(
        &self,
        write: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let result = write.await;
        if let Err(error) = &result {
            if error.is_storage_failure() {
                self.health.set(Some(error.to_string()));
            }
        }
        result
    }

    /// Why writes are failing, if the last one did and nothing committed since.
    pub(super) fn failing(&self) -> Option<String> {
        self.health
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

impl WriteHealth {
    fn set(&self, failing: Option<String>) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failing;
    }
}

/// An open write transaction. Dropped without [`WriteTx::commit`] or
/// [`WriteTx::rollback`] (an error, or the task was cancelled), it closes its connection,
/// which rolls the transaction back.
pub(super) struct WriteTx {
    conn: PoolConnection<Sqlite>,
    health: Arc<WriteHealth>,
    ended: bool,
}

impl WriteTx {
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        match sqlx::query("COMMIT").execute(&mut *self.conn).await {
            Ok(_) => {
                self.ended = true;
                self.health.set(None);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Undoes the transaction, keeping the connection when that works.
    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        sqlx::query("ROLLBACK").execute(&mut *self.conn).await?;
        self.ended = true;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.ended {
            self.conn.close_on_drop();
        }
    }
}
