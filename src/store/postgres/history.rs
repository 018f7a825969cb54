//! The history tables (`attempts`, `deliveries`, `field_writes`) and finding jobs by filter.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use super::rows::{job_from_row, JOB_COLUMNS};
use super::PgStore;
use crate::store::{
    Attempt, DeliveryRecord, Ending, HourOutcomes, Job, JobFilter, JobOrigin, JobStatus,
    RecordWrite, StoreError,
};

/// The conditions of a [`JobFilter`], binding `$1` to `$7` (see [`bind_filter`]). Text is
/// found with `strpos`, so `%` and `_` in it are literal.
const FILTER: &str = "($1::TEXT IS NULL OR status = $1) \
     AND ($2::TEXT IS NULL OR origin = $2) \
     AND ($3::TEXT IS NULL OR call_id = $3) \
     AND ($4::TEXT IS NULL OR strpos(call_data, $4) > 0 \
          OR id IN (SELECT job_id FROM job_targets WHERE record_id = $4)) \
     AND ($5::BIGINT IS NULL OR updated_at >= $5) \
     AND ($6::BIGINT IS NULL OR updated_at < $6) \
     AND ($7::TEXT IS NULL OR strpos(lower(coalesce(last_error, '') || ' ' || \
                                            coalesce(outcome, '')), lower($7)) > 0)";

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_filter<'q>(query: Query<'q>, filter: &'q JobFilter) -> Query<'q> {
    query
        .bind(filter.status.map(JobStatus::as_str))
        .bind(filter.origin.map(JobOrigin::as_str))
        .bind(filter.call_id.as_deref())
        .bind(filter.record_id.as_deref())
        .bind(filter.updated_since)
        .bind(filter.updated_before)
        .bind(filter.text.as_deref())
}

fn count(row: &PgRow, name: &str) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(name)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// Records how `job`'s attempt ended, in the transaction that ends it.
pub(super) async fn insert_attempt(
    conn: &mut PgConnection,
    job: &Job,
    ending: &Ending,
    now: i64,
) -> Result<(), StoreError> {
    let attempt = Attempt::of(ending, job.attempts, now);
    sqlx::query(
        "INSERT INTO attempts (job_id, attempt, ended_at, outcome, detail, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&job.id)
    .bind(i32::try_from(attempt.attempt).unwrap_or(i32::MAX))
    .bind(attempt.ended_at_unix_ms)
    .bind(&attempt.outcome)
    .bind(&attempt.detail)
    .bind(attempt.next_attempt_at_unix_ms)
    .execute(conn)
    .await?;
    Ok(())
}

fn attempt_from_row(row: &PgRow) -> Result<Attempt, StoreError> {
    let attempt: i32 = row.try_get("attempt")?;
    Ok(Attempt {
        attempt: u32::try_from(attempt).unwrap_or_default(),
        ended_at_unix_ms: row.try_get("ended_at")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        next_attempt_at_unix_ms: row.try_get("next_attempt_at")?,
    })
}

impl PgStore {
    pub async fn attempts(&self, job_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, ended_at, outcome, detail, next_attempt_at FROM attempts \
             WHERE job_id = $1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    pub async fn deliveries(&self, job_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT disposition, received_at, auth, webhook_id FROM deliveries \
             WHERE job_id = $1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryRecord {
                    disposition: row.try_get("disposition")?,
                    received_at_unix_ms: row.try_get("received_at")?,
                    auth: row.try_get("auth")?,
                    webhook_id: row.try_get("webhook_id")?,
                })
            })
            .collect()
    }

    pub async fn record_writes(&self, record_id: &str) -> Result<Vec<RecordWrite>, StoreError> {
        let rows = sqlx::query(
            "SELECT job_id, call_id, object, field, old_value, new_value, created_id, written_at \
             FROM field_writes WHERE record_id = $1 ORDER BY written_at DESC, id DESC",
        )
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordWrite {
                    job_id: row.try_get("job_id")?,
                    call_id: row.try_get("call_id")?,
                    object: row.try_get("object")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                    created_id: row.try_get("created_id")?,
                    written_at_unix_ms: row.try_get("written_at")?,
                })
            })
            .collect()
    }

    pub async fn find_jobs(
        &self,
        filter: &JobFilter,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE {FILTER} ORDER BY id DESC LIMIT $8 OFFSET $9"
        );
        let rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn count_matching(&self, filter: &JobFilter) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM jobs WHERE {FILTER}");
        let row = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .fetch_one(&self.pool)
            .await?;
        count(&row, "n")
    }

    pub async fn retry_dead_matching(&self, filter: &JobFilter) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let chosen = format!("SELECT id FROM jobs WHERE status = 'dead' AND {FILTER}");
        let forget_failures =
            format!("DELETE FROM job_targets WHERE status = 'dead' AND job_id IN ({chosen})");
        bind_filter(sqlx::query(sqlx::AssertSqlSafe(forget_failures)), filter)
            .execute(&mut *tx)
            .await?;
        let requeue = format!(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_after = now_ms(), \
                 outcome = NULL, lease_id = NULL, locked_until = NULL, updated_at = now_ms() \
             WHERE id IN ({chosen})"
        );
        let updated = bind_filter(sqlx::query(sqlx::AssertSqlSafe(requeue)), filter)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.pending.added(updated.rows_affected());
        if updated.rows_affected() > 0 {
            self.work_arrived();
        }
        Ok(updated.rows_affected())
    }

    pub async fn outcomes_by_hour(&self, since: i64) -> Result<Vec<HourOutcomes>, StoreError> {
        let rows = sqlx::query(
            "SELECT (ended_at / 3600000) * 3600000 AS hour, \
                 COUNT(*) FILTER (WHERE outcome = 'done') AS done, \
                 COUNT(*) FILTER (WHERE outcome IN ('skipped', 'dry_run')) AS skipped, \
                 COUNT(*) FILTER (WHERE outcome = 'dead') AS dead \
             FROM attempts WHERE ended_at >= $1 AND outcome NOT IN ('retry', 'deferred') \
             GROUP BY hour ORDER BY hour",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HourOutcomes {
                    hour_unix_ms: row.try_get("hour")?,
                    done: count(row, "done")?,
                    skipped: count(row, "skipped")?,
                    dead: count(row, "dead")?,
                })
            })
            .collect()
    }
}
