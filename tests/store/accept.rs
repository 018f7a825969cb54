//! Accepting deliveries: dedupe, joins, the queue bound, and concurrency.

use std::time::Duration;

use competitor_sync::store::{Delivery, DeliveryDisposition, Ending, NewJob, StoreError};
use competitor_sync::sync::Plan;

use crate::support::*;

pub async fn deliveries_of_a_queued_or_running_call_join_its_job(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let joined = store
        .accept(with_hash("42", "hash-2"))
        .await
        .expect("accept");
    assert_eq!(
        joined,
        Delivery {
            job_id: id.clone(),
            disposition: DeliveryDisposition::Joined
        }
    );
    let job = claim(store).await;
    assert_eq!(job.id, id);
    let joined = store
        .accept(with_hash("42", "hash-2"))
        .await
        .expect("accept");
    assert_eq!(
        joined.disposition,
        DeliveryDisposition::Joined,
        "same inputs join the running job"
    );
    let changed = store
        .accept(with_hash("42", "hash-3"))
        .await
        .expect("accept");
    assert_eq!(
        changed.disposition,
        DeliveryDisposition::New,
        "changed inputs are processed again"
    );
    assert_eq!(store.delivery_count(&id).await.expect("count"), 3);
}

pub async fn a_delivery_after_completion_is_a_duplicate_unless_its_inputs_changed(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    assert!(end(store, &job, done()).await);
    let again = store.accept(new_job("42")).await.expect("accept");
    assert_eq!(
        again,
        Delivery {
            job_id: id.clone(),
            disposition: DeliveryDisposition::Duplicate
        }
    );
    assert_eq!(store.count_jobs().await.expect("count"), 1);
    let changed = store
        .accept(with_hash("42", "hash-2"))
        .await
        .expect("accept");
    assert_eq!(changed.disposition, DeliveryDisposition::New);
    assert_ne!(changed.job_id, id);
}

pub async fn a_known_webhook_id_marks_a_duplicate_only_of_the_same_payload(t: TestStore) {
    let store = &t.store;
    let message = |job: NewJob<'static>| NewJob {
        webhook_id: Some("msg_1"),
        ..job
    };
    let id = enqueue(store, message(new_job("42"))).await;
    let redelivered = store.accept(message(new_job("42"))).await.expect("accept");
    assert_eq!(
        redelivered,
        Delivery {
            job_id: id.clone(),
            disposition: DeliveryDisposition::Duplicate
        }
    );
    // The sender reused the id for another call: new work, not a duplicate of call 42.
    let other_call = store.accept(message(new_job("43"))).await.expect("accept");
    assert_eq!(other_call.disposition, DeliveryDisposition::New);
    assert_ne!(other_call.job_id, id);
    // Changed content for the same call joins its waiting job like any delivery.
    let changed = store
        .accept(message(with_hash("42", "hash-2")))
        .await
        .expect("accept");
    assert_eq!(
        changed,
        Delivery {
            job_id: id,
            disposition: DeliveryDisposition::Joined
        }
    );
}

pub async fn a_full_queue_refuses_new_jobs_but_not_joins(t: TestStore) {
    let store = &t.store;
    store.bound_queue(2).await.expect("bound");
    enqueue(store, new_job("1")).await;
    enqueue(store, new_job("2")).await;
    let refused = store.accept(new_job("3")).await;
    assert!(
        matches!(refused, Err(StoreError::QueueFull { limit: 2 })),
        "{refused:?}"
    );
    let joined = store.accept(with_hash("1", "hash-2")).await.expect("joins");
    assert_eq!(joined.disposition, DeliveryDisposition::Joined);
    assert_eq!(store.count_jobs().await.expect("count"), 2);
}

pub async fn jobs_another_process_queued_count_toward_the_bound_once_recounted(t: TestStore) {
    let other_process = t.open_again().await;
    for call in ["1", "2"] {
        other_process
            .enqueue_call(call, "{}", false)
            .await
            .expect("queued");
    }
    // Setting the bound counts the queue; it is counted again every 15 seconds after.
    t.store.bound_queue(2).await.expect("bound");
    let refused = t.store.accept(new_job("3")).await;
    assert!(
        matches!(refused, Err(StoreError::QueueFull { limit: 2 })),
        "{refused:?}"
    );
}

pub async fn concurrent_deliveries_of_one_call_make_one_job(t: TestStore) {
    let other_process = t.open_again().await;
    let mut tasks = tokio::task::JoinSet::new();
    for store in [t.store.clone(), other_process] {
        for _ in 0..10 {
            let store = store.clone();
            tasks.spawn(async move { store.accept(new_job("42")).await });
        }
    }
    let mut new = 0;
    while let Some(delivery) = tasks.join_next().await {
        let delivery = delivery.expect("task").expect("accepted");
        if delivery.disposition == DeliveryDisposition::New {
            new += 1;
        }
    }
    assert_eq!(new, 1, "one job; every other delivery joined it");
    assert_eq!(t.store.count_jobs().await.expect("count"), 1);
}

pub async fn new_inputs_drop_a_kept_plan(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    let ending = Ending::Retry {
        reason: "Salesforce answered 503".into(),
        delay: Duration::ZERO,
        counts: true,
        plan: Some(competitor_sync::store::KeptPlan {
            rules: "r".into(),
            plan: Plan {
                records: Vec::new(),
                ignored_ids: Vec::new(),
            },
        }),
    };
    assert!(end(store, &job, ending).await);
    store.accept(new_job("42")).await.expect("same inputs join");
    assert!(store
        .job(&id)
        .await
        .expect("read")
        .expect("job")
        .plan
        .is_some());
    store
        .accept(with_hash("42", "hash-2"))
        .await
        .expect("new inputs join");
    assert!(store
        .job(&id)
        .await
        .expect("read")
        .expect("job")
        .plan
        .is_none());
}
