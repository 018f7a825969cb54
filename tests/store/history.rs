//! Each job's attempts and deliveries, each record's writes, jobs found by filter, the dead
//! ones among them replayed, and recent outcomes by hour.

use std::time::Duration;

use competitor_sync::store::{
    FieldWrite, JobFilter, JobOrigin, JobStatus, ListedCall, NewJob, TargetStatus,
};

use crate::support::*;

pub async fn attempts_and_deliveries_are_kept_per_job(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let relayed = NewJob {
        auth: Some("standard_webhooks"),
        webhook_id: Some("msg_1"),
        ..new_job("42")
    };
    store.accept(relayed).await.expect("joined");
    let job = claim(store).await;
    assert!(
        end(
            store,
            &job,
            retry("Gong could not be reached", Duration::ZERO)
        )
        .await
    );
    let job = claim(store).await;
    assert!(end(store, &job, done()).await);

    let attempts = store.attempts(&id).await.expect("attempts");
    let outcomes: Vec<(u32, &str)> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [(1, "retry"), (2, "done")]);
    assert_eq!(attempts[0].detail, "Gong could not be reached");
    assert!(attempts[0].next_attempt_at_unix_ms.is_some());
    assert_eq!(attempts[1].next_attempt_at_unix_ms, None);

    let deliveries = store.deliveries(&id).await.expect("deliveries");
    let seen: Vec<(&str, Option<&str>)> = deliveries
        .iter()
        .map(|d| (d.disposition.as_str(), d.auth.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("new", Some("token")),
            ("joined", Some("standard_webhooks"))
        ]
    );
    assert_eq!(deliveries[1].webhook_id.as_deref(), Some("msg_1"));

    let hours = store.outcomes_by_hour(0).await.expect("hours");
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert_eq!((hours[0].done, hours[0].skipped, hours[0].dead), (1, 0, 0));
}

pub async fn a_records_writes_are_listed_newest_first_with_their_call(t: TestStore) {
    let store = &t.store;
    for (call, value) in [("1", "Clari"), ("2", "Clari, Chorus")] {
        enqueue(store, new_job(call)).await;
        let job = claim(store).await;
        let write = FieldWrite {
            object: "Opportunity".into(),
            record_id: "006A".into(),
            field: "Main_Competitors__c".into(),
            old_value: None,
            new_value: value.into(),
            created_id: None,
        };
        resolve(store, &job, target("006A", TargetStatus::Done), vec![write]).await;
        assert!(end(store, &job, done()).await);
    }
    let writes = store.record_writes("006A").await.expect("writes");
    let values: Vec<(&str, &str)> = writes
        .iter()
        .map(|w| (w.call_id.as_str(), w.new_value.as_str()))
        .collect();
    assert_eq!(values, [("2", "Clari, Chorus"), ("1", "Clari")]);
    assert!(store
        .record_writes("006B")
        .await
        .expect("writes")
        .is_empty());
}

pub async fn jobs_are_found_by_filter_and_the_dead_ones_replayed(t: TestStore) {
    let store = &t.store;
    for (call, reason) in [
        ("1", "ENTITY_IS_DELETED: entity is deleted"),
        ("2", "timeout"),
    ] {
        enqueue(store, new_job(call)).await;
        let job = claim(store).await;
        assert!(end(store, &job, dead(reason)).await);
    }
    let linked = ListedCall {
        call_id: "3".into(),
        call_data: r#"{"metaData":{"id":"3"},"context":[{"system":"Salesforce","objects":[{"objectType":"Opportunity","objectId":"0063t000012AbCdAAK"}]}]}"#.into(),
    };
    store
        .enqueue_unknown(&[linked], JobOrigin::Sweep)
        .await
        .expect("queued");
    let find = |filter: JobFilter| async move {
        let jobs = store.find_jobs(&filter, 10, 0).await.expect("find");
        let count = store.count_matching(&filter).await.expect("count");
        assert_eq!(count, jobs.len() as u64, "{filter:?}");
        jobs.into_iter().map(|j| j.call_id).collect::<Vec<_>>()
    };
    let dead = JobFilter {
        status: Some(JobStatus::Dead),
        ..JobFilter::default()
    };
    assert_eq!(find(dead.clone()).await, ["2", "1"], "newest first");
    let deleted = JobFilter {
        text: Some("entity_is".into()),
        ..dead.clone()
    };
    assert_eq!(find(deleted.clone()).await, ["1"], "text in any case");
    let literal = JobFilter {
        text: Some("%".into()),
        ..JobFilter::default()
    };
    assert!(find(literal).await.is_empty(), "no wildcards");
    let swept = JobFilter {
        origin: Some(JobOrigin::Sweep),
        ..JobFilter::default()
    };
    assert_eq!(find(swept).await, ["3"]);
    let linked = JobFilter {
        record_id: Some("0063t000012AbCdAAK".into()),
        ..JobFilter::default()
    };
    assert_eq!(find(linked).await, ["3"]);
    let later = JobFilter {
        updated_since: Some(i64::MAX),
        ..JobFilter::default()
    };
    assert!(find(later).await.is_empty());
    let page = store
        .find_jobs(&JobFilter::default(), 2, 1)
        .await
        .expect("page");
    assert_eq!(page.len(), 2, "offset and limit");

    assert_eq!(store.retry_dead_matching(&deleted).await.expect("retry"), 1);
    let requeued = store.jobs_for_call("1").await.expect("jobs");
    assert_eq!(
        (requeued[0].status, requeued[0].attempts),
        (JobStatus::Queued, 0)
    );
    assert_eq!(
        store.jobs_for_call("2").await.expect("jobs")[0].status,
        JobStatus::Dead
    );
}

pub async fn a_waiting_job_is_made_due_now_and_others_are_not_touched(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("7")).await;
    let job = claim(store).await;
    assert!(end(store, &job, retry("timeout", Duration::from_secs(3600))).await);
    assert_eq!(
        store.due(10).await.expect("due").count,
        0,
        "waiting an hour"
    );
    assert!(store.retry_now(&id).await.expect("retry now"));
    assert_eq!(store.due(10).await.expect("due").count, 1);
    let job = claim(store).await;
    assert!(
        !store.retry_now(&id).await.expect("running"),
        "a running job is left alone"
    );
    assert!(end(store, &job, done()).await);
    assert!(
        !store.retry_now(&id).await.expect("done"),
        "a done job is left alone"
    );
    assert!(!store.retry_now("no-such-job").await.expect("unknown"));
}
