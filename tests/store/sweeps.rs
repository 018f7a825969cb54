//! The sweep's lease and bookkeeping, and queueing the calls it finds without a job.

use std::time::Duration;

use competitor_sync::store::{DeliveryDisposition, JobOrigin, ListedCall};

use crate::support::*;

const LEASE: Duration = Duration::from_secs(60);
const EVERY: Duration = Duration::from_secs(3600);

fn listed(ids: &[&str]) -> Vec<ListedCall> {
    ids.iter()
        .map(|id| ListedCall {
            call_id: (*id).to_owned(),
            call_data: format!(r#"{{"metaData":{{"id":"{id}"}}}}"#),
        })
        .collect()
}

pub async fn one_process_sweeps_per_interval(t: TestStore) {
    let service = &t.store;
    let replica = t.open_again().await;
    assert!(service
        .try_start_sweep("gong", "a", EVERY, LEASE)
        .await
        .expect("start"));
    assert!(
        !replica
            .try_start_sweep("gong", "b", EVERY, LEASE)
            .await
            .expect("start"),
        "another holder sweeps now"
    );
    service
        .finish_sweep("gong", "a", "listed 3 calls", true)
        .await
        .expect("finish");
    assert!(
        !replica
            .try_start_sweep("gong", "b", EVERY, LEASE)
            .await
            .expect("start"),
        "the interval has not passed"
    );
    assert!(replica
        .try_start_sweep("gong", "b", Duration::ZERO, LEASE)
        .await
        .expect("start"));
    let status = service
        .sweep_status("gong")
        .await
        .expect("status")
        .expect("swept");
    assert_eq!(status.last_outcome.as_deref(), Some("listed 3 calls"));
    assert!(status.last_success_unix_ms.is_some());
}

pub async fn a_sweeper_that_died_is_taken_over_after_its_lease(t: TestStore) {
    let store = &t.store;
    assert!(store
        .try_start_sweep("gong", "died", Duration::ZERO, Duration::from_millis(50))
        .await
        .expect("start"));
    assert!(!store
        .try_start_sweep("gong", "next", Duration::ZERO, LEASE)
        .await
        .expect("start"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(store
        .try_start_sweep("gong", "next", Duration::ZERO, LEASE)
        .await
        .expect("start"));
    // The dead holder's late ending changes nothing.
    store
        .finish_sweep("gong", "died", "late", true)
        .await
        .expect("finish");
    let status = store
        .sweep_status("gong")
        .await
        .expect("status")
        .expect("swept");
    assert_eq!(status.last_success_unix_ms, None);
}

pub async fn only_calls_without_a_job_are_queued(t: TestStore) {
    let store = &t.store;
    let webhook = enqueue(store, new_job("1")).await;
    let job = claim(store).await;
    assert!(end(store, &job, dead("deleted")).await);
    let known = store.calls_with_jobs(&["1", "2"]).await.expect("known");
    assert_eq!(known.len(), 1);
    let queued = store
        .enqueue_unknown(&listed(&["1", "2", "2"]), JobOrigin::Sweep)
        .await
        .expect("queued");
    assert_eq!(
        queued,
        ["2"],
        "a call with any job, even a dead one, is not queued again"
    );
    let swept = &store.jobs_for_call("2").await.expect("jobs")[0];
    assert_eq!(swept.origin, JobOrigin::Sweep);
    assert_eq!(
        store
            .job(&webhook)
            .await
            .expect("read")
            .expect("job")
            .origin,
        JobOrigin::Webhook
    );
}

pub async fn a_webhook_after_the_sweep_makes_no_second_job(t: TestStore) {
    let store = &t.store;
    // The webhook comes while the swept job waits: it joins it.
    store
        .enqueue_unknown(&listed(&["7"]), JobOrigin::Sweep)
        .await
        .expect("queued");
    let joined = store.accept(new_job("7")).await.expect("accept");
    assert_eq!(joined.disposition, DeliveryDisposition::Joined);
    // The webhook comes after the swept job ran: nothing to do again.
    store
        .enqueue_unknown(&listed(&["8"]), JobOrigin::Sweep)
        .await
        .expect("queued");
    let jobs = store
        .claim_batch(2, Duration::from_secs(60))
        .await
        .expect("claim");
    for job in &jobs {
        assert!(end(store, job, done()).await);
    }
    let late = store.accept(new_job("8")).await.expect("accept");
    assert_eq!(late.disposition, DeliveryDisposition::Duplicate);
    assert_eq!(
        store.count_jobs().await.expect("count"),
        2,
        "one job per call"
    );
}

pub async fn todays_requests_are_counted(t: TestStore) {
    let store = &t.store;
    assert_eq!(store.requests_used_today("gong").await.expect("used"), 0);
    for _ in 0..3 {
        store
            .reserve_request("gong", Duration::from_millis(1), 100)
            .await
            .expect("slot");
    }
    assert_eq!(store.requests_used_today("gong").await.expect("used"), 3);
}

pub async fn only_webhook_work_waiting_for_a_worker_holds_the_sweep_back(t: TestStore) {
    let store = &t.store;
    store
        .enqueue_unknown(&listed(&["5"]), JobOrigin::Sweep)
        .await
        .expect("queued");
    assert!(
        !store.deliveries_due().await.expect("due"),
        "the sweep's own jobs do not hold it back"
    );
    enqueue(store, new_job("6")).await;
    assert!(store.deliveries_due().await.expect("due"));
    let jobs = store
        .claim_batch(2, Duration::from_secs(60))
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 2);
    assert!(
        !store.deliveries_due().await.expect("due"),
        "a claimed webhook job is a worker's, not waiting"
    );
}
