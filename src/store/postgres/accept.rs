//! Accepting webhooks with group commit: deliveries arriving together share one
//! transaction (see `group`). Each group first takes a transaction-scoped advisory lock per
//! call, in one order, so deliveries of one call reaching two replicas at once are decided
//! one after the other (one job; the other delivery joins it), and two groups never
//! deadlock.

use std::sync::atomic::Ordering;

use sqlx::postgres::PgConnection;
use tokio::sync::{mpsc, oneshot};

use super::{group, PgStore};
use crate::store::{Delivery, DeliveryDisposition as Disposition, NewJob, StoreError};

/// Deliveries committed together at most.
const MAX_GROUP: usize = 512;

/// The queue limit, and how many jobs are waiting or running as the group goes.
pub(super) struct QueueBound {
    pub limit: u64,
    pub pending: u64,
}

/// A delivery waiting for the writer.
pub(super) struct AcceptRequest {
    job: OwnedJob,
    reply: oneshot::Sender<Result<Delivery, StoreError>>,
}

struct OwnedJob {
    call_id: String,
    is_test: bool,
    call_data: String,
    content_hash: String,
    webhook_id: Option<String>,
    auth: Option<String>,
}

impl OwnedJob {
    fn as_new_job(&self) -> NewJob<'_> {
        NewJob {
            call_id: &self.call_id,
            is_test: self.is_test,
            call_data: &self.call_data,
            content_hash: &self.content_hash,
            webhook_id: self.webhook_id.as_deref(),
            auth: self.auth.as_deref(),
        }
    }
}

impl PgStore {
    pub async fn accept(&self, job: NewJob<'_>) -> Result<Delivery, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = OwnedJob {
            call_id: job.call_id.to_owned(),
            is_test: job.is_test,
            call_data: job.call_data.to_owned(),
            content_hash: job.content_hash.to_owned(),
            webhook_id: job.webhook_id.map(str::to_owned),
            auth: job.auth.map(str::to_owned),
        };
        self.accepts
            .send(AcceptRequest { job, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

/// Commits deliveries in groups, in arrival order; if a group's transaction fails, each of
/// its deliveries gets the error and nothing of it is stored.
pub(super) async fn run_writer(store: PgStore, mut requests: mpsc::Receiver<AcceptRequest>) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let limit = store.pending.limit.load(Ordering::Relaxed);
        let bound = (limit > 0).then(|| QueueBound {
            limit,
            pending: store.pending.count.load(Ordering::Relaxed),
        });
        let jobs: Vec<NewJob<'_>> = group.iter().map(|r| r.job.as_new_job()).collect();
        match group::commit(&store.pool, &jobs, bound).await {
            Ok(results) => {
                let created = results
                    .iter()
                    .filter(|r| matches!(r, Ok(d) if d.disposition == Disposition::New))
                    .count();
                store
                    .pending
                    .added(u64::try_from(created).unwrap_or_default());
                if created > 0 {
                    store.work_arrived();
                }
                for (request, result) in group.into_iter().zip(results) {
                    let _ = request.reply.send(result);
                }
            }
            Err(error) => {
                let message = error.to_string();
                for request in group {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Unavailable(message.clone())));
                }
            }
        }
    }
}

/// Takes the transaction-scoped advisory lock of each call, in one order (so two
/// transactions never deadlock): whoever decides whether a call gets a new job holds it.
pub(super) async fn lock_calls<'a>(
    tx: &mut PgConnection,
    call_ids: impl Iterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = call_ids.map(call_lock).collect();
    keys.sort_unstable();
    keys.dedup();
    sqlx::query("SELECT pg_advisory_xact_lock(k) FROM unnest($1::BIGINT[]) AS k")
        .bind(&keys)
        .execute(tx)
        .await?;
    Ok(())
}

/// The advisory lock key of a call: 60 bits of its id's SHA-256. Two calls sharing a key
/// only wait for each other.
fn call_lock(call_id: &str) -> i64 {
    let digest = crate::digest::sha256_hex(call_id.as_bytes());
    i64::from_str_radix(&digest[..15], 16).unwrap_or_default()
}
