//! Claiming with a lease, ending attempts, releasing, reclaiming orphans, wake-ups.

use std::time::Duration;

use competitor_sync::store::{Ending, JobStatus, KeptPlan};
use competitor_sync::sync::Plan;

use crate::support::*;

pub async fn a_job_is_claimed_once_then_finished(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    assert_eq!(job.id, id);
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.attempts, 1);
    assert!(claim_for(store, Duration::from_secs(60)).await.is_none());
    assert!(end(store, &job, done()).await);
    let stored = store.job(&id).await.expect("read").expect("exists");
    assert_eq!(stored.status, JobStatus::Done);
    assert_eq!(
        stored.outcome.as_deref(),
        Some("wrote 1 field value(s) to 1 record(s)")
    );
    assert_eq!(store.queue_depth().await.expect("depth").done, 1);
}

pub async fn batches_are_claimed_oldest_first_and_only_once(t: TestStore) {
    let store = &t.store;
    for n in 0..5 {
        enqueue(store, new_job(&n.to_string())).await;
    }
    assert_eq!(store.due(3).await.expect("due").count, 3);
    let lease = Duration::from_secs(60);
    let first = store.claim_batch(3, lease).await.expect("claim");
    let ids: Vec<&str> = first.iter().map(|j| j.call_id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2"]);
    let second = store.claim_batch(3, lease).await.expect("claim");
    assert_eq!(second.len(), 2);
    assert!(store.claim_batch(3, lease).await.expect("claim").is_empty());
    assert_eq!(store.due(3).await.expect("due").count, 0);
}

pub async fn an_expired_lease_is_taken_over_and_the_stale_worker_cannot_finish(t: TestStore) {
    let store = &t.store;
    enqueue(store, new_job("42")).await;
    let stale = claim_for(store, Duration::ZERO).await.expect("due");
    let other_process = t.open_again().await;
    let fresh = claim_for(&other_process, Duration::from_secs(60))
        .await
        .expect("an expired lease is reclaimed");
    assert_eq!(stale.id, fresh.id);
    assert_eq!(fresh.attempts, 2);
    assert!(
        !end(store, &stale, dead("late")).await,
        "the stale worker changes nothing"
    );
    assert_eq!(store.queue_depth().await.expect("depth").running, 1);
}

pub async fn a_retry_delays_the_job_and_release_keeps_the_attempt_count(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    assert!(
        end(
            store,
            &job,
            retry("Gong answered 503", Duration::from_secs(3600))
        )
        .await
    );
    assert!(claim_for(store, Duration::from_secs(60)).await.is_none());
    let stored = store.job(&id).await.expect("read").expect("exists");
    assert_eq!((stored.status, stored.attempts), (JobStatus::Queued, 1));
    assert_eq!(stored.last_error.as_deref(), Some("Gong answered 503"));

    enqueue(store, new_job("43")).await;
    let job = claim(store).await;
    store.release(&job).await.expect("release");
    let released = store.job(&job.id).await.expect("read").expect("exists");
    assert_eq!((released.status, released.attempts), (JobStatus::Queued, 0));
}

pub async fn an_attempt_that_could_not_run_gives_its_attempt_back(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    let deferred = Ending::Retry {
        reason: "Salesforce work is paused".into(),
        delay: Duration::ZERO,
        counts: false,
        plan: None,
    };
    assert!(end(store, &job, deferred).await);
    let job = claim(store).await;
    assert_eq!(
        (job.id, job.attempts),
        (id, 1),
        "the deferred attempt is not counted"
    );
}

pub async fn a_kept_plan_comes_back_with_the_job_and_a_finish_drops_it(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    let kept = KeptPlan {
        rules: "rules-1".into(),
        plan: Plan {
            records: Vec::new(),
            ignored_ids: vec!["x".into()],
        },
    };
    let ending = Ending::Retry {
        reason: "Salesforce answered 503".into(),
        delay: Duration::ZERO,
        counts: true,
        plan: Some(kept.clone()),
    };
    assert!(end(store, &job, ending).await);
    let job = claim(store).await;
    assert_eq!(job.plan, Some(kept));
    assert!(end(store, &job, done()).await);
    let finished = store.job(&id).await.expect("read").expect("exists");
    assert_eq!(finished.plan, None);
}

pub async fn jobs_left_running_by_a_dead_process_are_reclaimed_at_start_up(t: TestStore) {
    let id = enqueue(&t.store, new_job("42")).await;
    claim_for(&t.store, Duration::from_millis(200))
        .await
        .expect("claimed by a process that then dies");
    // A new process starts. SQLite (one service per file) takes the job back at once; a
    // shared backend leaves it to its lease, which then runs out.
    let restarted = t.open_again().await;
    restarted.reclaim_orphans().await.expect("reclaim");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let job = claim(&restarted).await;
    assert_eq!(
        (job.id, job.attempts),
        (id, 2),
        "the interrupted attempt counts"
    );
}

pub async fn jobs_survive_reopening_the_store(t: TestStore) {
    let id = enqueue(&t.store, new_job("42")).await;
    t.store.close().await;
    let reopened = t.open_again().await;
    let job = reopened.job(&id).await.expect("read").expect("still there");
    assert_eq!(
        (job.call_id.as_str(), job.status),
        ("42", JobStatus::Queued)
    );
}

pub async fn due_counts_jobs_whose_time_has_come(t: TestStore) {
    let store = &t.store;
    assert_eq!(store.due(10).await.expect("due").longest_wait, None);
    enqueue(store, new_job("1")).await;
    let job = claim(store).await;
    assert!(end(store, &job, retry("later", Duration::from_secs(3600))).await);
    enqueue(store, new_job("2")).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let due = store.due(10).await.expect("due");
    assert_eq!(due.count, 1, "the job retried in an hour is not due");
    assert!(
        due.longest_wait
            .is_some_and(|w| w >= Duration::from_millis(30)),
        "{due:?}"
    );
}

pub async fn accepting_wakes_a_waiting_worker(t: TestStore) {
    let store = t.store.clone();
    let waiting = tokio::spawn(async move {
        store.wait_for_work(Duration::from_secs(30)).await;
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    enqueue(&t.store, new_job("42")).await;
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("woken well before the poll interval")
        .expect("task");
}

pub async fn a_batch_retried_together_is_due_together(t: TestStore) {
    let store = &t.store;
    for call in ["1", "2", "3"] {
        enqueue(store, new_job(call)).await;
    }
    let jobs = store
        .claim_batch(3, Duration::from_secs(60))
        .await
        .expect("claim");
    let ends: Vec<_> = jobs
        .iter()
        .map(|job| {
            (
                job,
                retry("Salesforce answered 503", Duration::from_millis(500)),
            )
        })
        .collect();
    store.end_jobs(&ends).await.expect("end");
    let mut due_times = Vec::new();
    for job in &jobs {
        due_times.push(
            store
                .job(&job.id)
                .await
                .expect("read")
                .expect("job")
                .run_after,
        );
    }
    due_times.dedup();
    assert_eq!(
        due_times.len(),
        1,
        "one due time for the batch: {due_times:?}"
    );
}
