//! Backfill progress, committed with each page's jobs.

use sqlx::Row;

use super::accept::lock_calls;
use super::rows::{depth_from_rows, insert_queued, QueuedJob};
use super::PgStore;
use crate::store::{
    BackfillProgress, JobOrigin, JobStatus, Page, PageEnqueued, QueueDepth, StoreError,
};

impl PgStore {
    pub async fn backfill_progress(
        &self,
        range: &str,
    ) -> Result<Option<BackfillProgress>, StoreError> {
        let row = sqlx::query(
            "SELECT cursor, listed, total, complete FROM backfills WHERE range_key = $1",
        )
        .bind(range)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| -> Result<BackfillProgress, StoreError> {
            let listed: i64 = row.try_get("listed")?;
            let total: Option<i64> = row.try_get("total")?;
            Ok(BackfillProgress {
                cursor: row.try_get("cursor")?,
                listed: u64::try_from(listed).unwrap_or_default(),
                total: total.and_then(|t| u64::try_from(t).ok()),
                complete: row.try_get("complete")?,
            })
        })
        .transpose()
    }

    pub async fn restart_backfill(&self, range: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM backfills WHERE range_key = $1")
            .bind(range)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Holds each listed call's lock, as a delivery does: a webhook for the same call at
    /// another replica cannot make a second job meanwhile.
    pub async fn enqueue_page(
        &self,
        range: &str,
        page: Page<'_>,
        dry_run: bool,
    ) -> Result<PageEnqueued, StoreError> {
        let mut counts = PageEnqueued::default();
        let mut tx = self.pool.begin().await?;
        lock_calls(&mut tx, page.calls.iter().map(|call| call.call_id.as_str())).await?;
        for call in page.calls {
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT status FROM jobs WHERE call_id = $1 AND NOT dry_run \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(&call.call_id)
            .fetch_optional(&mut *tx)
            .await?;
            match latest.as_deref().and_then(JobStatus::parse) {
                Some(JobStatus::Queued | JobStatus::Running) => counts.already_queued += 1,
                Some(JobStatus::Done | JobStatus::Skipped) => counts.already_done += 1,
                Some(JobStatus::Dead) | None => {
                    let queued = QueuedJob {
                        call_id: &call.call_id,
                        is_test: false,
                        call_data: &call.call_data,
                        content_hash: "",
                        dry_run,
                        backfill: Some(range),
                        origin: JobOrigin::Backfill,
                    };
                    insert_queued(&mut tx, &queued).await?;
                    counts.queued += 1;
                }
            }
        }
        sqlx::query(
            "INSERT INTO backfills (range_key, cursor, listed, total, complete, updated_at) \
             VALUES ($1, $2, $3, $4, $5, now_ms()) \
             ON CONFLICT (range_key) DO UPDATE SET cursor = EXCLUDED.cursor, \
                 listed = backfills.listed + EXCLUDED.listed, \
                 total = COALESCE(EXCLUDED.total, backfills.total), \
                 complete = EXCLUDED.complete, updated_at = EXCLUDED.updated_at",
        )
        .bind(range)
        .bind(page.next_cursor)
        .bind(i64::try_from(page.calls.len()).unwrap_or(i64::MAX))
        .bind(page.total.and_then(|t| i64::try_from(t).ok()))
        .bind(page.next_cursor.is_none())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.pending.added(counts.queued);
        if counts.queued > 0 {
            self.work_arrived();
        }
        Ok(counts)
    }

    pub async fn backfill_jobs(&self, range: &str) -> Result<QueueDepth, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM jobs WHERE backfill = $1 GROUP BY status",
        )
        .bind(range)
        .fetch_all(&self.pool)
        .await?;
        depth_from_rows(&rows)
    }
}
