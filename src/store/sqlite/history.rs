//! The history tables (`attempts`, `deliveries`, `field_writes`) and finding jobs by filter.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::rows::{job_from_row, JOB_COLUMNS};
use super::{now_ms, SqliteStore};
use crate::store::{
    Attempt, DeliveryRecord, Ending, HourOutcomes, Job, JobFilter, JobOrigin, JobStatus,
    RecordWrite, StoreError,
};

/// The conditions of a [`JobFilter`], binding `?1` to `?7` (see [`bind_filter`]). Text is
/// found with `instr`, so `%` and `_` in it are literal.
const FILTER: &str = "(?1 IS NULL OR status = ?1) \
     AND (?2 IS NULL OR origin = ?2) \
     AND (?3 IS NULL OR call_id = ?3) \
     AND (?4 IS NULL OR instr(call_data, ?4) > 0 \
          OR id IN (SELECT job_id FROM job_targets WHERE record_id = ?4)) \
     AND (?5 IS NULL OR updated_at >= ?5) \
     AND (?6 IS NULL OR updated_at < ?6) \
     AND (?7 IS NULL OR instr(lower(coalesce(last_error, '') || ' ' || coalesce(outcome, '')), \
                              lower(?7)) > 0)";

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

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

/// Records how `job`'s attempt ended, in the transaction that ends it.
pub(super) async fn insert_attempt(
    conn: &mut SqliteConnection,
    job: &Job,
    ending: &Ending,
    now: i64,
) -> Result<(), StoreError> {
    let attempt = Attempt::of(ending, job.attempts, now);
    sqlx::query(
        "INSERT INTO attempts (job_id, attempt, ended_at, outcome, detail, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&job.id)
    .bind(attempt.attempt)
    .bind(attempt.ended_at_unix_ms)
    .bind(&attempt.outcome)
    .bind(&attempt.detail)
    .bind(attempt.next_attempt_at_unix_ms)
    .execute(conn)
    .await?;
    Ok(())
}

fn attempt_from_row(row: &SqliteRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        attempt: row.try_get("attempt")?,
        ended_at_unix_ms: row.try_get("ended_at")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        next_attempt_at_unix_ms: row.try_get("next_attempt_at")?,
    })
}

impl SqliteStore {
    pub async fn attempts(&self, job_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, ended_at, outcome, detail, next_attempt_at FROM attempts \
             WHERE job_id = ?1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    pub async fn deliveries(&self, job_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT disposition, received_at, auth, webhook_id FROM deliveries \
             WHERE job_id = ?1 ORDER BY id",
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
             FROM field_writes WHERE record_id = ?1 ORDER BY written_at DESC, id DESC",
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
            "SELECT {JOB_COLUMNS} FROM jobs WHERE {FILTER} ORDER BY id DESC LIMIT ?8 OFFSET ?9"
        );
        let rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn count_matching(&self, filter: &JobFilter) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM jobs WHERE {FILTER}");
        let row = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), filter)
            .fetch_one(&self.pool)
            .await?;
        let count: i64 = row.try_get("n")?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    pub async fn retry_dead_matching(&self, filter: &JobFilter) -> Result<u64, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut tx = self.writer.begin().await?;
                let chosen = format!("SELECT id FROM jobs WHERE status = 'dead' AND {FILTER}");
                let forget_failures = format!(
                    "DELETE FROM job_targets WHERE status = 'dead' AND job_id IN ({chosen})"
                );
                bind_filter(sqlx::query(sqlx::AssertSqlSafe(forget_failures)), filter)
                    .execute(tx.conn())
                    .await?;
                let requeue = format!(
                    "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ?8, \
                         outcome = NULL, lease_id = NULL, locked_until = NULL, updated_at = ?8 \
                     WHERE id IN ({chosen})"
                );
                let updated = bind_filter(sqlx::query(sqlx::AssertSqlSafe(requeue)), filter)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                tx.commit().await?;
                self.pending.added(updated.rows_affected());
                if updated.rows_affected() > 0 {
                    self.work.notify_one();
                }
                Ok(updated.rows_affected())
            })
            .await
    }

    pub async fn outcomes_by_hour(&self, since: i64) -> Result<Vec<HourOutcomes>, StoreError> {
        let rows = sqlx::query(
            "SELECT (ended_at / 3600000) * 3600000 AS hour, \
                 SUM(outcome = 'done') AS done, SUM(outcome IN ('skipped', 'dry_run')) AS skipped, \
                 SUM(outcome = 'dead') AS dead \
             FROM attempts WHERE ended_at >= ?1 AND outcome NOT IN ('retry', 'deferred') \
             GROUP BY hour ORDER BY hour",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let count = |name: &str| -> Result<u64, StoreError> {
                    let n: i64 = row.try_get(name)?;
                    Ok(u64::try_from(n).unwrap_or_default())
                };
                Ok(HourOutcomes {
                    hour_unix_ms: row.try_get("hour")?,
                    done: count("done")?,
                    skipped: count("skipped")?,
                    dead: count("dead")?,
                })
            })
            .collect()
    }
}
