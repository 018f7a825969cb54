//! Backfill bookkeeping: the calls Gong lists for a date range become jobs page by page, and
//! each page's jobs are committed together with the range's progress (the cursor of the next
//! page), so a run stopped part-way resumes at the next page without repeating work.

use sqlx::Row;

use super::rows::{depth_from_rows, insert_queued, QueuedJob};
use super::{now_ms, SqliteStore};
use crate::store::{
    BackfillProgress, JobOrigin, JobStatus, Page, PageEnqueued, QueueDepth, StoreError,
};

impl SqliteStore {
    /// The progress recorded for `range`, if it was started before.
    pub async fn backfill_progress(
        &self,
        range: &str,
    ) -> Result<Option<BackfillProgress>, StoreError> {
        let row = sqlx::query(
            "SELECT cursor, listed, total, complete FROM backfills WHERE range_key = ?1",
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

    /// Forgets a range's progress, so the next run lists it from the first page again.
    pub async fn restart_backfill(&self, range: &str) -> Result<(), StoreError> {
        self.writer
            .run(async {
                sqlx::query("DELETE FROM backfills WHERE range_key = ?1")
                    .bind(range)
                    .execute(self.writer.pool())
                    .await?;
                Ok(())
            })
            .await
    }

    /// Queues a job for each listed call that needs one and records the page as listed, in
    /// one transaction. A call that has a job waiting or running, or one that finished (not
    /// as a dry run), gets no new job: a resumed or repeated backfill does not redo work.
    pub async fn enqueue_page(
        &self,
        range: &str,
        page: Page<'_>,
        dry_run: bool,
    ) -> Result<PageEnqueued, StoreError> {
        self.writer
            .run(async {
                let now = now_ms();
                let mut counts = PageEnqueued::default();
                let mut tx = self.writer.begin().await?;
                for call in page.calls {
                    let latest: Option<String> = sqlx::query_scalar(
                        "SELECT status FROM jobs WHERE call_id = ?1 AND dry_run = 0 \
                     ORDER BY id DESC LIMIT 1",
                    )
                    .bind(&call.call_id)
                    .fetch_optional(tx.conn())
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
                            insert_queued(tx.conn(), &queued, now).await?;
                            counts.queued += 1;
                        }
                    }
                }
                let listed = i64::try_from(page.calls.len()).unwrap_or(i64::MAX);
                sqlx::query(
                "INSERT INTO backfills (range_key, cursor, listed, total, complete, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (range_key) DO UPDATE SET cursor = excluded.cursor, \
                     listed = listed + excluded.listed, total = COALESCE(excluded.total, total), \
                     complete = excluded.complete, updated_at = excluded.updated_at",
            )
            .bind(range)
            .bind(page.next_cursor)
            .bind(listed)
            .bind(page.total.and_then(|t| i64::try_from(t).ok()))
            .bind(page.next_cursor.is_none())
            .bind(now)
            .execute(tx.conn())
            .await?;
                tx.commit().await?;
                self.pending.added(counts.queued);
                if counts.queued > 0 {
                    self.work.notify_one();
                }
                Ok(counts)
            })
            .await
    }

    /// The jobs a backfill range queued, by status.
    pub async fn backfill_jobs(&self, range: &str) -> Result<QueueDepth, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM jobs WHERE backfill = ?1 GROUP BY status",
        )
        .bind(range)
        .fetch_all(&self.pool)
        .await?;
        depth_from_rows(&rows)
    }
}
