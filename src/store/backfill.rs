//! Backfill bookkeeping: the calls Gong lists for a date range become jobs page by page, and
//! each page's jobs are committed together with the range's progress (the cursor of the next
//! page), so a run stopped part-way resumes at the next page without repeating work.

use sqlx::Row;

use super::jobs::{insert_queued, QueuedJob};
use super::{now_ms, QueueDepth, Store, StoreError};
use crate::store::JobStatus;

/// A call as Gong listed it.
#[derive(Debug, Clone)]
pub struct ListedCall {
    pub call_id: String,
    /// The listing's JSON for the call (metadata and CRM context), kept like a webhook's.
    pub call_data: String,
}

/// Where a backfill range stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillProgress {
    /// Gong's cursor for the next page; `None` before the first page and after the last.
    pub cursor: Option<String>,
    /// Calls listed so far.
    pub listed: u64,
    /// How many calls Gong says the range holds.
    pub total: Option<u64>,
    /// Every page was listed.
    pub complete: bool,
}

/// What became of one page's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageEnqueued {
    /// New jobs.
    pub queued: u64,
    /// The call already had a job waiting or running (a webhook's, or an earlier run's).
    pub already_queued: u64,
    /// The call was already synced or skipped by a job that was not a dry run.
    pub already_done: u64,
}

/// One listed page and the progress it leads to.
pub struct Page<'a> {
    pub calls: &'a [ListedCall],
    pub next_cursor: Option<&'a str>,
    pub total: Option<u64>,
}

impl Store {
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
        super::jobs::depth_from_rows(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{temp_store, NewJob};

    fn calls(ids: &[&str]) -> Vec<ListedCall> {
        ids.iter()
            .map(|id| ListedCall {
                call_id: (*id).to_owned(),
                call_data: format!(r#"{{"metaData":{{"id":"{id}"}}}}"#),
            })
            .collect()
    }

    #[tokio::test]
    async fn pages_commit_their_jobs_with_the_cursor() {
        let (_dir, _, store) = temp_store().await;
        let first = calls(&["1", "2"]);
        let counts = store
            .enqueue_page(
                "r",
                Page {
                    calls: &first,
                    next_cursor: Some("c1"),
                    total: Some(3),
                },
                false,
            )
            .await
            .expect("page");
        assert_eq!(counts.queued, 2);
        let progress = store.backfill_progress("r").await.expect("read");
        assert_eq!(
            progress,
            Some(BackfillProgress {
                cursor: Some("c1".into()),
                listed: 2,
                total: Some(3),
                complete: false
            })
        );
        // The same page again (a run stopped before it was recorded) queues nothing new.
        let again = store
            .enqueue_page(
                "r",
                Page {
                    calls: &first[..1],
                    next_cursor: None,
                    total: None,
                },
                false,
            )
            .await
            .expect("page");
        assert_eq!(again.queued, 0);
        assert_eq!(again.already_queued, 1);
        let progress = store.backfill_progress("r").await.expect("read");
        assert!(progress.is_some_and(|p| p.complete && p.cursor.is_none() && p.total == Some(3)));
        assert_eq!(store.backfill_jobs("r").await.expect("jobs").queued, 2);
    }

    #[tokio::test]
    async fn jobs_another_process_queued_count_toward_the_bound_once_recounted() {
        let (_dir, url, service) = temp_store().await;
        let service = service.with_max_queued(Some(2));
        let backfill = Store::connect(&url).await.expect("second process");
        backfill
            .enqueue_page(
                "r",
                Page {
                    calls: &calls(&["1", "2"]),
                    next_cursor: None,
                    total: None,
                },
                false,
            )
            .await
            .expect("page");
        assert_eq!(service.recount_pending().await.expect("recount"), 2);
        let refused = service
            .accept(NewJob {
                call_id: "3",
                is_test: false,
                call_data: "{}",
                content_hash: "h",
                webhook_id: None,
            })
            .await;
        assert!(
            matches!(refused, Err(StoreError::QueueFull { limit: 2 })),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_call_finished_only_as_a_dry_run_is_queued_again() {
        let (_dir, _, store) = temp_store().await;
        let accepted = store
            .accept(NewJob {
                call_id: "7",
                is_test: false,
                call_data: "{}",
                content_hash: "h",
                webhook_id: None,
            })
            .await
            .expect("accepted");
        let job = store
            .claim_job(&accepted.job_id, std::time::Duration::from_secs(60))
            .await
            .expect("claim")
            .expect("queued");
        let dry = crate::store::Finish::DryRun {
            outcome: "dry run".into(),
            result: serde_json::json!({}),
        };
        store
            .end_jobs(&[(&job, crate::store::JobEnd::Finish(dry))])
            .await
            .expect("ended");
        let page = calls(&["7"]);
        let listed = |dry_run| {
            store.enqueue_page(
                "r",
                Page {
                    calls: &page,
                    next_cursor: None,
                    total: None,
                },
                dry_run,
            )
        };
        assert_eq!(listed(false).await.expect("page").queued, 1);
        // Now a real job waits for the call.
        assert_eq!(listed(false).await.expect("page").already_queued, 1);
    }
}
