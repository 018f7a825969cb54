//! Waking idle workers on every replica: a debounced `NOTIFY` after work arrives, and a
//! `LISTEN`ing connection per replica that wakes its own workers. Workers poll as well, so a
//! lost notification (a dropped connection) only delays work by the poll interval.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const CHANNEL: &str = "competitor_sync_work";

/// At most one `NOTIFY` this often: each one serialises commits on the server, and one per
/// burst wakes every replica as well as one per webhook would.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// How long to wait before listening again after the connection was lost.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// Sends one `NOTIFY` for each burst of `wanted` signals, until `closing`.
pub(super) async fn announce(pool: PgPool, wanted: Arc<Notify>, closing: CancellationToken) {
    loop {
        tokio::select! {
            () = wanted.notified() => {}
            () = closing.cancelled() => return,
        }
        if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await
        {
            tracing::debug!(%error, "could not notify the other replicas; they poll");
        }
        tokio::time::sleep(DEBOUNCE).await;
    }
}

/// Wakes one of this replica's idle workers for each notification, until `closing`.
pub(super) async fn listen(pool: PgPool, work: Arc<Notify>, closing: CancellationToken) {
    while !closing.is_cancelled() {
        tokio::select! {
            error = listen_until_lost(&pool, &work) => {
                tracing::warn!(%error, "lost the LISTEN connection; workers poll until it is back");
                tokio::time::sleep(RELISTEN_AFTER).await;
            }
            () = closing.cancelled() => return,
        }
    }
}

/// Listens until the connection fails; returns why.
async fn listen_until_lost(pool: &PgPool, work: &Notify) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        return error;
    }
    loop {
        match listener.recv().await {
            Ok(_) => work.notify_one(),
            Err(error) => return error,
        }
    }
}
