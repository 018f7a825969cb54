//! A backfill range's pages, committed with their jobs.

use std::time::Duration;

use competitor_sync::store::{BackfillProgress, Ending, JobReport, ListedCall, Page};

use crate::support::*;

fn calls(ids: &[&str]) -> Vec<ListedCall> {
    ids.iter()
        .map(|id| ListedCall {
            call_id: (*id).to_owned(),
            call_data: format!(r#"{{"metaData":{{"id":"{id}"}}}}"#),
        })
        .collect()
}

fn page<'a>(calls: &'a [ListedCall], next_cursor: Option<&'a str>, total: Option<u64>) -> Page<'a> {
    Page {
        calls,
        next_cursor,
        total,
    }
}

pub async fn pages_commit_their_jobs_with_the_cursor(t: TestStore) {
    let store = &t.store;
    let first = calls(&["1", "2"]);
    let counts = store
        .enqueue_page("r", page(&first, Some("c1"), Some(3)), false)
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
        .enqueue_page("r", page(&first[..1], None, None), false)
        .await
        .expect("page");
    assert_eq!((again.queued, again.already_queued), (0, 1));
    let progress = store.backfill_progress("r").await.expect("read");
    assert!(progress.is_some_and(|p| p.complete && p.cursor.is_none() && p.total == Some(3)));
    assert_eq!(store.backfill_jobs("r").await.expect("jobs").queued, 2);
    store.restart_backfill("r").await.expect("restart");
    assert_eq!(store.backfill_progress("r").await.expect("read"), None);
}

pub async fn a_call_finished_only_as_a_dry_run_is_queued_again(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, with_hash("7", "h")).await;
    let job = store
        .claim_job(&id, Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("queued");
    let dry = Ending::DryRun {
        summary: "dry run".into(),
        report: JobReport::default(),
    };
    assert!(end(store, &job, dry).await);
    let listed = calls(&["7"]);
    let first = store
        .enqueue_page("r", page(&listed, None, None), false)
        .await
        .expect("page");
    assert_eq!(first.queued, 1);
    // Now a real job waits for the call.
    let second = store
        .enqueue_page("r", page(&listed, None, None), false)
        .await
        .expect("page");
    assert_eq!(second.already_queued, 1);
}
