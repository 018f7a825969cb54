//! One group of deliveries, decided and written with a few statements whatever its size: the
//! calls locked, their newest jobs and known message ids read at once, every delivery decided
//! in memory in arrival order (as the one-by-one rules of the interface say), then the new
//! jobs, the joins and the deliveries written as sets. Round trips per delivery were what
//! bounded acceptance on PostgreSQL.

use std::collections::HashMap;

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::Row;
use uuid::Uuid;

use super::accept::{lock_calls, QueueBound};
use crate::store::{Delivery, DeliveryDisposition as Disposition, NewJob, StoreError};

/// A call's newest job as dedupe sees it: `dry_run` for one finished under dry run (not
/// finished: the writes are still to be made).
#[derive(Clone)]
struct Latest {
    id: String,
    status: String,
    hash: String,
}

/// What the group will write.
#[derive(Default)]
struct Writes<'a> {
    /// New jobs, by position in the group of the delivery whose inputs they hold.
    new_jobs: Vec<(String, &'a NewJob<'a>)>,
    /// Jobs queued before this group that take a delivery's inputs.
    joins: HashMap<String, &'a NewJob<'a>>,
    deliveries: Vec<(String, &'a NewJob<'a>, Disposition)>,
}

/// Decides and commits `jobs`, one result each, in order; an error of the transaction is
/// everyone's (nothing of the group is stored).
pub(super) async fn commit(
    pool: &PgPool,
    jobs: &[NewJob<'_>],
    mut bound: Option<QueueBound>,
) -> Result<Vec<Result<Delivery, StoreError>>, StoreError> {
    let mut tx = pool.begin().await?;
    lock_calls(&mut tx, jobs.iter().map(|job| job.call_id)).await?;
    let mut known = known_messages(&mut tx, jobs).await?;
    let mut latest = latest_jobs(&mut tx, jobs).await?;
    let mut writes = Writes::default();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let message = job.webhook_id.map(|id| {
            (
                id.to_owned(),
                job.call_id.to_owned(),
                job.content_hash.to_owned(),
            )
        });
        let decided = match message.as_ref().and_then(|key| known.get(key)) {
            Some(job_id) => Ok(Delivery {
                job_id: job_id.clone(),
                disposition: Disposition::Duplicate,
            }),
            None => decide(job, &mut latest, &mut writes, bound.as_mut()),
        };
        if let Ok(delivery) = &decided {
            writes
                .deliveries
                .push((delivery.job_id.clone(), job, delivery.disposition));
            if let Some(key) = message {
                known.entry(key).or_insert_with(|| delivery.job_id.clone());
            }
        }
        results.push(decided);
    }
    write(&mut tx, &writes).await?;
    tx.commit().await?;
    Ok(results)
}

/// One delivery against what the call has, as the interface's rules say.
fn decide<'a>(
    job: &'a NewJob<'a>,
    latest: &mut HashMap<String, Latest>,
    writes: &mut Writes<'a>,
    bound: Option<&mut QueueBound>,
) -> Result<Delivery, StoreError> {
    // The same payload, or a call taken from Gong itself (the sweep, a backfill, `sync`; no
    // delivery hash), which the webhook announcing that call would not change.
    let same_inputs = |l: &Latest| l.hash == job.content_hash || l.hash.is_empty();
    let current = latest.get(job.call_id).cloned();
    let (job_id, disposition) = match current {
        Some(l) if l.status == "queued" => {
            join(writes, &l.id, job);
            latest.insert(
                job.call_id.to_owned(),
                Latest {
                    hash: job.content_hash.to_owned(),
                    ..l.clone()
                },
            );
            (l.id, Disposition::Joined)
        }
        Some(l) if l.status == "running" && same_inputs(&l) => (l.id, Disposition::Joined),
        Some(l) if matches!(l.status.as_str(), "done" | "skipped") && same_inputs(&l) => {
            (l.id, Disposition::Duplicate)
        }
        _ => {
            if let Some(bound) = bound {
                if bound.pending >= bound.limit {
                    return Err(StoreError::QueueFull { limit: bound.limit });
                }
                bound.pending += 1;
            }
            let id = Uuid::now_v7().to_string();
            writes.new_jobs.push((id.clone(), job));
            let queued = Latest {
                id: id.clone(),
                status: "queued".to_owned(),
                hash: job.content_hash.to_owned(),
            };
            latest.insert(job.call_id.to_owned(), queued);
            (id, Disposition::New)
        }
    };
    Ok(Delivery {
        job_id,
        disposition,
    })
}

/// The waiting job `id` takes `job`'s inputs: a job new in this group is created with them,
/// one queued before gets them written.
fn join<'a>(writes: &mut Writes<'a>, id: &str, job: &'a NewJob<'a>) {
    match writes.new_jobs.iter_mut().find(|(new, _)| new == id) {
        Some(new_job) => new_job.1 = job,
        None => {
            writes.joins.insert(id.to_owned(), job);
        }
    }
}

/// Earlier deliveries of the group's messages (same id, call and payload), not dry runs.
async fn known_messages(
    tx: &mut PgConnection,
    jobs: &[NewJob<'_>],
) -> Result<HashMap<(String, String, String), String>, StoreError> {
    let ids: Vec<&str> = jobs.iter().filter_map(|job| job.webhook_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT DISTINCT ON (d.webhook_id, d.call_id, d.content_hash) \
             d.webhook_id, d.call_id, d.content_hash, d.job_id \
         FROM deliveries d JOIN jobs j ON j.id = d.job_id \
         WHERE d.webhook_id = ANY($1) AND NOT j.dry_run \
         ORDER BY d.webhook_id, d.call_id, d.content_hash, d.id",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|row| {
            let key = (
                row.try_get("webhook_id")?,
                row.try_get("call_id")?,
                row.try_get("content_hash")?,
            );
            Ok((key, row.try_get("job_id")?))
        })
        .collect()
}

/// The newest job of each of the group's calls.
async fn latest_jobs(
    tx: &mut PgConnection,
    jobs: &[NewJob<'_>],
) -> Result<HashMap<String, Latest>, StoreError> {
    let calls: Vec<&str> = jobs.iter().map(|job| job.call_id).collect();
    let rows = sqlx::query(
        "SELECT DISTINCT ON (call_id) call_id, id, status, content_hash, dry_run FROM jobs \
         WHERE call_id = ANY($1) ORDER BY call_id, id DESC",
    )
    .bind(&calls)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|row| {
            let dry_run: bool = row.try_get("dry_run")?;
            let latest = Latest {
                id: row.try_get("id")?,
                status: if dry_run {
                    "dry_run".to_owned()
                } else {
                    row.try_get("status")?
                },
                hash: row.try_get("content_hash")?,
            };
            Ok((row.try_get("call_id")?, latest))
        })
        .collect()
}

async fn write(tx: &mut PgConnection, writes: &Writes<'_>) -> Result<(), StoreError> {
    if !writes.new_jobs.is_empty() {
        let column = |pick: fn(&NewJob<'_>) -> String| -> Vec<String> {
            writes.new_jobs.iter().map(|(_, job)| pick(job)).collect()
        };
        let ids: Vec<&str> = writes.new_jobs.iter().map(|(id, _)| id.as_str()).collect();
        let tests: Vec<bool> = writes.new_jobs.iter().map(|(_, job)| job.is_test).collect();
        sqlx::query(
            "INSERT INTO jobs (id, call_id, is_test, call_data, content_hash, status, run_after, \
                 created_at, updated_at) \
             SELECT id, call_id, is_test, call_data, content_hash, 'queued', t, t, t \
             FROM unnest($1::TEXT[], $2::TEXT[], $3::BOOLEAN[], $4::TEXT[], $5::TEXT[]) \
                 AS n (id, call_id, is_test, call_data, content_hash), now_ms() AS t",
        )
        .bind(&ids)
        .bind(column(|job| job.call_id.to_owned()))
        .bind(&tests)
        .bind(column(|job| job.call_data.to_owned()))
        .bind(column(|job| job.content_hash.to_owned()))
        .execute(&mut *tx)
        .await?;
    }
    for (id, job) in &writes.joins {
        sqlx::query(
            "UPDATE jobs SET call_data = $1, is_test = $2, content_hash = $3, \
                 updated_at = now_ms(), plan = CASE WHEN content_hash = $3 THEN plan END \
             WHERE id = $4",
        )
        .bind(job.call_data)
        .bind(job.is_test)
        .bind(job.content_hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let job_ids: Vec<&str> = writes
        .deliveries
        .iter()
        .map(|(id, ..)| id.as_str())
        .collect();
    let calls: Vec<&str> = writes
        .deliveries
        .iter()
        .map(|(_, job, _)| job.call_id)
        .collect();
    let hashes: Vec<&str> = writes
        .deliveries
        .iter()
        .map(|(_, job, _)| job.content_hash)
        .collect();
    let dispositions: Vec<&str> = writes.deliveries.iter().map(|(.., d)| d.as_str()).collect();
    let message_ids: Vec<Option<&str>> = writes
        .deliveries
        .iter()
        .map(|(_, job, _)| job.webhook_id)
        .collect();
    let auths: Vec<Option<&str>> = writes
        .deliveries
        .iter()
        .map(|(_, job, _)| job.auth)
        .collect();
    sqlx::query(
        "INSERT INTO deliveries \
             (job_id, call_id, content_hash, disposition, received_at, webhook_id, auth) \
         SELECT job_id, call_id, content_hash, disposition, now_ms(), webhook_id, auth \
         FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[]) \
             AS d (job_id, call_id, content_hash, disposition, webhook_id, auth)",
    )
    .bind(&job_ids)
    .bind(&calls)
    .bind(&hashes)
    .bind(&dispositions)
    .bind(&message_ids)
    .bind(&auths)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
