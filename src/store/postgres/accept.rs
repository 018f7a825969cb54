//! Accepting webhooks with group commit: deliveries arriving together share one
//! transaction. Each group first takes a transaction-scoped advisory lock per call, in one
//! order, so deliveries of one call reaching two replicas at once are decided one after the
//! other (one job; the other delivery joins it), and two groups never deadlock.

use std::sync::atomic::Ordering;

use sqlx::postgres::PgConnection;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::rows::{insert_queued, QueuedJob};
use super::PgStore;
use crate::store::{Delivery, DeliveryDisposition as Disposition, NewJob, StoreError};

/// Deliveries committed together at most.
const MAX_GROUP: usize = 512;

/// The queue limit, and how many jobs are waiting or running as the group goes.
struct QueueBound {
    limit: u64,
    pending: u64,
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
}

impl OwnedJob {
    fn as_new_job(&self) -> NewJob<'_> {
        NewJob {
            call_id: &self.call_id,
            is_test: self.is_test,
            call_data: &self.call_data,
            content_hash: &self.content_hash,
            webhook_id: self.webhook_id.as_deref(),
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
        match commit_group(&store, &group, bound).await {
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

async fn commit_group(
    store: &PgStore,
    group: &[AcceptRequest],
    mut bound: Option<QueueBound>,
) -> Result<Vec<Result<Delivery, StoreError>>, StoreError> {
    let mut tx = store.pool.begin().await?;
    lock_calls(
        &mut tx,
        group.iter().map(|request| request.job.call_id.as_str()),
    )
    .await?;
    let mut results = Vec::with_capacity(group.len());
    for request in group {
        match accept_one(&mut tx, &request.job.as_new_job(), bound.as_mut()).await {
            // A full queue refuses this delivery only; it wrote nothing.
            Err(StoreError::QueueFull { limit }) => {
                results.push(Err(StoreError::QueueFull { limit }))
            }
            Err(error) => return Err(error),
            Ok(delivery) => results.push(Ok(delivery)),
        }
    }
    tx.commit().await?;
    Ok(results)
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

async fn accept_one(
    tx: &mut PgConnection,
    job: &NewJob<'_>,
    bound: Option<&mut QueueBound>,
) -> Result<Delivery, StoreError> {
    let delivery = match known_message(tx, job).await? {
        Some(job_id) => Delivery {
            job_id,
            disposition: Disposition::Duplicate,
        },
        None => match latest_job(tx, job.call_id).await? {
            Some(latest) if latest.status == "queued" => {
                join_queued(tx, job, &latest.id).await?;
                Delivery {
                    job_id: latest.id,
                    disposition: Disposition::Joined,
                }
            }
            Some(latest) if latest.status == "running" && latest.hash == job.content_hash => {
                Delivery {
                    job_id: latest.id,
                    disposition: Disposition::Joined,
                }
            }
            Some(latest)
                if matches!(latest.status.as_str(), "done" | "skipped")
                    && latest.hash == job.content_hash =>
            {
                Delivery {
                    job_id: latest.id,
                    disposition: Disposition::Duplicate,
                }
            }
            _ => Delivery {
                job_id: queue_new(tx, job, bound).await?,
                disposition: Disposition::New,
            },
        },
    };
    sqlx::query(
        "INSERT INTO deliveries (job_id, call_id, content_hash, disposition, received_at, webhook_id) \
         VALUES ($1, $2, $3, $4, now_ms(), $5)",
    )
    .bind(&delivery.job_id)
    .bind(job.call_id)
    .bind(job.content_hash)
    .bind(delivery.disposition.as_str())
    .bind(job.webhook_id)
    .execute(&mut *tx)
    .await?;
    Ok(delivery)
}

/// The job of an earlier delivery of this very message (same call and payload; see the
/// interface).
async fn known_message(
    tx: &mut PgConnection,
    job: &NewJob<'_>,
) -> Result<Option<String>, StoreError> {
    let Some(webhook_id) = job.webhook_id else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar(
        "SELECT d.job_id FROM deliveries d JOIN jobs j ON j.id = d.job_id \
         WHERE d.webhook_id = $1 AND d.call_id = $2 AND d.content_hash = $3 \
             AND NOT j.dry_run LIMIT 1",
    )
    .bind(webhook_id)
    .bind(job.call_id)
    .bind(job.content_hash)
    .fetch_optional(tx)
    .await?)
}

/// The call's newest job, as dedupe sees it: `dry_run` for one finished under dry run (not
/// finished: the writes are still to be made).
struct Latest {
    id: String,
    status: String,
    hash: String,
}

async fn latest_job(tx: &mut PgConnection, call_id: &str) -> Result<Option<Latest>, StoreError> {
    let row = sqlx::query(
        "SELECT id, status, content_hash, dry_run FROM jobs WHERE call_id = $1 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(call_id)
    .fetch_optional(tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let dry_run: bool = row.try_get("dry_run")?;
    Ok(Some(Latest {
        id: row.try_get("id")?,
        status: if dry_run {
            "dry_run".to_owned()
        } else {
            row.try_get("status")?
        },
        hash: row.try_get("content_hash")?,
    }))
}

async fn join_queued(tx: &mut PgConnection, job: &NewJob<'_>, id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET call_data = $1, is_test = $2, content_hash = $3, updated_at = now_ms(), \
             plan = CASE WHEN content_hash = $3 THEN plan END \
         WHERE id = $4",
    )
    .bind(job.call_data)
    .bind(job.is_test)
    .bind(job.content_hash)
    .bind(id)
    .execute(tx)
    .await?;
    Ok(())
}

async fn queue_new(
    tx: &mut PgConnection,
    job: &NewJob<'_>,
    bound: Option<&mut QueueBound>,
) -> Result<String, StoreError> {
    if let Some(bound) = bound {
        if bound.pending >= bound.limit {
            return Err(StoreError::QueueFull { limit: bound.limit });
        }
        bound.pending += 1;
    }
    let queued = QueuedJob {
        call_id: job.call_id,
        is_test: job.is_test,
        call_data: job.call_data,
        content_hash: job.content_hash,
        dry_run: false,
        backfill: None,
    };
    insert_queued(tx, &queued).await
}
