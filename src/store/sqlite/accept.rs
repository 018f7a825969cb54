//! Accepting webhooks with group commit. Every accepted delivery is committed (fsynced)
//! before its caller answers; deliveries arriving together share one transaction and one
//! fsync, which is what lets a burst be acknowledged thousands of times a second.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use sqlx::sqlite::SqliteConnection;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Notify};

use super::rows::{insert_queued, QueuedJob};
use super::write::Writer;
use super::{now_ms, PendingJobs, SqliteStore};
use crate::store::{Delivery, DeliveryDisposition as Disposition, JobOrigin, NewJob, StoreError};

/// The queue limit, and how many jobs are waiting or running as the group goes.
struct QueueBound {
    limit: u64,
    pending: u64,
}

/// Deliveries committed together at most.
const MAX_GROUP: usize = 512;

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

impl SqliteStore {
    /// Hands the delivery to the group-commit writer and waits for its group's commit. The
    /// check and the write share one IMMEDIATE transaction, so concurrent deliveries of one
    /// call cannot both create a job.
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

/// Commits deliveries in groups: takes every request waiting, runs them in one IMMEDIATE
/// transaction (in arrival order, so duplicate detection within a group is exact), commits
/// once and answers each. If the transaction fails, every request of the group gets the
/// error and nothing of it is stored.
pub(super) async fn run_writer(
    writer: Writer,
    pending: Arc<PendingJobs>,
    work: Arc<Notify>,
    mut requests: mpsc::Receiver<AcceptRequest>,
) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let bound = Some(pending.limit.load(Ordering::Relaxed))
            .filter(|limit| *limit > 0)
            .map(|limit| QueueBound {
                limit,
                pending: pending.count.load(Ordering::Relaxed),
            });
        match writer.run(commit_group(&writer, &group, bound)).await {
            Ok(results) => {
                let created = results
                    .iter()
                    .filter(|r| matches!(r, Ok(d) if d.disposition == Disposition::New))
                    .count();
                pending.added(u64::try_from(created).unwrap_or_default());
                if created > 0 {
                    // One worker claims up to a whole batch, and wakes another if more wait.
                    work.notify_one();
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
    writer: &Writer,
    group: &[AcceptRequest],
    mut bound: Option<QueueBound>,
) -> Result<Vec<Result<Delivery, StoreError>>, StoreError> {
    let now = now_ms();
    let mut tx = writer.begin().await?;
    let mut results = Vec::with_capacity(group.len());
    for request in group {
        match accept_one(tx.conn(), &request.job.as_new_job(), bound.as_mut(), now).await {
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

async fn accept_one(
    tx: &mut SqliteConnection,
    job: &NewJob<'_>,
    bound: Option<&mut QueueBound>,
    now: i64,
) -> Result<Delivery, StoreError> {
    let delivery = match known_message(tx, job).await? {
        Some(job_id) => Delivery {
            job_id,
            disposition: Disposition::Duplicate,
        },
        None => match latest_job(tx, job.call_id).await? {
            Some(latest) if latest.status == "queued" => {
                join_queued(tx, job, &latest.id, now).await?;
                Delivery {
                    job_id: latest.id,
                    disposition: Disposition::Joined,
                }
            }
            Some(latest) if latest.status == "running" && latest.covers(job) => Delivery {
                job_id: latest.id,
                disposition: Disposition::Joined,
            },
            Some(latest)
                if matches!(latest.status.as_str(), "done" | "skipped") && latest.covers(job) =>
            {
                Delivery {
                    job_id: latest.id,
                    disposition: Disposition::Duplicate,
                }
            }
            _ => Delivery {
                job_id: queue_new(tx, job, bound, now).await?,
                disposition: Disposition::New,
            },
        },
    };
    sqlx::query(
        "INSERT INTO deliveries \
             (job_id, call_id, content_hash, disposition, received_at, webhook_id, auth) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(&delivery.job_id)
    .bind(job.call_id)
    .bind(job.content_hash)
    .bind(delivery.disposition.as_str())
    .bind(now)
    .bind(job.webhook_id)
    .bind(job.auth)
    .execute(&mut *tx)
    .await?;
    Ok(delivery)
}

/// The job of an earlier delivery of this very message. The id marks a redelivery only of
/// the same payload: a sender reusing an id for another call (or changed content) sends new
/// work, which must not be hidden. A dry-run job wrote nothing: a redelivery after dry run
/// ends is new work too.
async fn known_message(
    tx: &mut SqliteConnection,
    job: &NewJob<'_>,
) -> Result<Option<String>, StoreError> {
    let Some(webhook_id) = job.webhook_id else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar(
        "SELECT d.job_id FROM deliveries d JOIN jobs j ON j.id = d.job_id \
         WHERE d.webhook_id = ?1 AND d.call_id = ?2 AND d.content_hash = ?3 \
             AND j.dry_run = 0 LIMIT 1",
    )
    .bind(webhook_id)
    .bind(job.call_id)
    .bind(job.content_hash)
    .fetch_optional(tx)
    .await?)
}

/// The call's newest job, as dedupe sees it.
struct Latest {
    id: String,
    /// Its status, or `dry_run` for one finished under dry run: not finished, since the
    /// writes are still to be made.
    status: String,
    hash: String,
}

impl Latest {
    /// Whether this job's inputs stand for the delivery's: the same payload, or a call taken
    /// from Gong itself (the sweep, a backfill, `sync`; no delivery hash), which the
    /// webhook announcing that call would not change.
    fn covers(&self, job: &NewJob<'_>) -> bool {
        self.hash == job.content_hash || self.hash.is_empty()
    }
}

async fn latest_job(
    tx: &mut SqliteConnection,
    call_id: &str,
) -> Result<Option<Latest>, StoreError> {
    let row = sqlx::query(
        "SELECT id, status, content_hash, dry_run FROM jobs WHERE call_id = ?1 \
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

/// Gives the waiting job the delivery's inputs; a plan made from other inputs no longer
/// holds.
async fn join_queued(
    tx: &mut SqliteConnection,
    job: &NewJob<'_>,
    id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE jobs SET call_data = ?1, is_test = ?2, content_hash = ?3, updated_at = ?4, \
             plan = CASE WHEN content_hash = ?3 THEN plan END \
         WHERE id = ?5",
    )
    .bind(job.call_data)
    .bind(job.is_test)
    .bind(job.content_hash)
    .bind(now)
    .bind(id)
    .execute(tx)
    .await?;
    Ok(())
}

/// Queues a job for the delivery, within the bound.
async fn queue_new(
    tx: &mut SqliteConnection,
    job: &NewJob<'_>,
    bound: Option<&mut QueueBound>,
    now: i64,
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
        origin: JobOrigin::Webhook,
    };
    insert_queued(tx, &queued, now).await
}
