//! What operators read and do.

use std::time::Duration;

use competitor_sync::store::{Ending, JobStatus, TargetStatus};

use crate::support::*;

pub async fn a_dead_job_is_retried_with_fresh_attempts_keeping_records_already_written(
    t: TestStore,
) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    resolve(store, &job, target("006A", TargetStatus::Done), Vec::new()).await;
    resolve(store, &job, target("006B", TargetStatus::Dead), Vec::new()).await;
    assert!(end(store, &job, dead("006B deleted")).await);
    let dead_jobs = store
        .list_jobs(Some(JobStatus::Dead), None, 10)
        .await
        .expect("list");
    assert_eq!(dead_jobs.len(), 1);
    assert!(!store.retry_dead("no-such-job").await.expect("retry"));

    assert!(store.retry_dead(&id).await.expect("retry"));
    let retried = store.job(&id).await.expect("read").expect("exists");
    assert_eq!((retried.status, retried.attempts), (JobStatus::Queued, 0));
    let targets = store.targets(&id).await.expect("targets");
    assert_eq!(targets, vec![target("006A", TargetStatus::Done)]);
    assert!(
        !store.retry_dead(&id).await.expect("retry"),
        "only dead jobs are retried"
    );
}

pub async fn every_dead_job_can_be_queued_again_at_once(t: TestStore) {
    let store = &t.store;
    for call in ["1", "2"] {
        enqueue(store, new_job(call)).await;
        let job = claim(store).await;
        assert!(end(store, &job, dead("x")).await);
    }
    assert_eq!(store.retry_all_dead().await.expect("retry"), 2);
    assert_eq!(store.queue_depth().await.expect("depth").queued, 2);
}

pub async fn old_finished_jobs_are_purged_with_their_history_and_live_ones_kept(t: TestStore) {
    let store = &t.store;
    let done = enqueue(store, new_job("1")).await;
    let job = claim(store).await;
    let skipped = Ending::Skipped {
        reason: "x".into(),
        report: None,
    };
    assert!(end(store, &job, skipped).await);
    let queued = enqueue(store, new_job("2")).await;
    let purged = store.purge_finished(Duration::from_secs(3600)).await;
    assert_eq!(purged.expect("purge"), 0);
    assert_eq!(
        store.purge_finished(Duration::ZERO).await.expect("purge"),
        1
    );
    assert!(store.job(&done).await.expect("read").is_none());
    assert_eq!(
        store.delivery_count(&done).await.expect("count"),
        0,
        "deliveries go too"
    );
    assert!(store.job(&queued).await.expect("read").is_some());
}

pub async fn lists_filter_by_status_and_call(t: TestStore) {
    let store = &t.store;
    for call in ["1", "2", "3"] {
        enqueue(store, new_job(call)).await;
    }
    let job = claim(store).await;
    assert!(end(store, &job, done()).await);
    let by_call = store.list_jobs(None, Some("2"), 10).await.expect("list");
    assert_eq!(by_call.len(), 1);
    assert_eq!(by_call[0].call_id, "2");
    let queued = store
        .list_jobs(Some(JobStatus::Queued), None, 10)
        .await
        .expect("list");
    let calls: Vec<&str> = queued.iter().map(|j| j.call_id.as_str()).collect();
    assert_eq!(calls, ["3", "2"], "newest first");
    assert_eq!(store.list_jobs(None, None, 1).await.expect("list").len(), 1);
    assert_eq!(store.jobs_for_call("1").await.expect("jobs").len(), 1);
}
