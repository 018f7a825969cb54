//! Record outcomes (`job_targets`) and the values written (`field_writes`).

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{now_ms, SqliteStore};
use crate::store::{FieldWrite, Resolution, StoreError, Target, TargetStatus};

impl SqliteStore {
    /// Records the outcome of records, and the field values written to them, in one
    /// transaction, as soon as the CRM confirmed them. A retried job skips records already
    /// resolved.
    pub async fn resolve_targets(&self, resolutions: &[Resolution<'_>]) -> Result<(), StoreError> {
        self.writer
            .run(async {
            let now = now_ms();
            let mut tx = self.writer.begin().await?;
            for Resolution {
                job,
                target,
                writes,
            } in resolutions
            {
                for write in writes {
                    sqlx::query(
                        "INSERT INTO field_writes (job_id, call_id, object, record_id, field, old_value, new_value, created_id, written_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .bind(&job.id)
                    .bind(&job.call_id)
                    .bind(&write.object)
                    .bind(&write.record_id)
                    .bind(&write.field)
                    .bind(&write.old_value)
                    .bind(&write.new_value)
                    .bind(&write.created_id)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                }
                // A record still to be retried keeps its writes (rows created) but no outcome yet.
                if let Some(target) = target {
                    sqlx::query(
                        "INSERT INTO job_targets (job_id, object, record_id, status, detail, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                         ON CONFLICT (job_id, object, record_id) DO UPDATE SET status = excluded.status, \
                             detail = excluded.detail, updated_at = excluded.updated_at",
                    )
                    .bind(&job.id)
                    .bind(&target.object)
                    .bind(&target.record_id)
                    .bind(match target.status {
                        TargetStatus::Done => "done",
                        TargetStatus::Dead => "dead",
                    })
                    .bind(&target.detail)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
            })
            .await
    }

    /// The records a job has resolved so far.
    pub async fn targets(&self, job_id: &str) -> Result<Vec<Target>, StoreError> {
        let rows = sqlx::query(
            "SELECT object, record_id, status, detail FROM job_targets WHERE job_id = ?1 \
             ORDER BY updated_at, record_id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(target_from_row).collect()
    }

    pub async fn targets_of_jobs(
        &self,
        job_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Target>>, StoreError> {
        let ids = serde_json::to_string(job_ids).unwrap_or_else(|_| "[]".to_owned());
        let rows = sqlx::query(
            "SELECT job_id, object, record_id, status, detail FROM job_targets \
             WHERE job_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY updated_at, record_id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        let mut targets: HashMap<String, Vec<Target>> = HashMap::new();
        for row in &rows {
            let job_id: String = row.try_get("job_id")?;
            targets
                .entry(job_id)
                .or_default()
                .push(target_from_row(row)?);
        }
        Ok(targets)
    }

    /// The field values a job wrote, in order.
    pub async fn writes_for_job(&self, job_id: &str) -> Result<Vec<FieldWrite>, StoreError> {
        let rows = sqlx::query(
            "SELECT object, record_id, field, old_value, new_value, created_id FROM field_writes \
             WHERE job_id = ?1 ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FieldWrite {
                    object: row.try_get("object")?,
                    record_id: row.try_get("record_id")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                    created_id: row.try_get("created_id")?,
                })
            })
            .collect()
    }
}

fn target_from_row(row: &SqliteRow) -> Result<Target, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(Target {
        object: row.try_get("object")?,
        record_id: row.try_get("record_id")?,
        status: if status == "dead" {
            TargetStatus::Dead
        } else {
            TargetStatus::Done
        },
        detail: row.try_get("detail")?,
    })
}
