//! Record locks across processes.

use std::time::Duration;

use competitor_sync::store::RecordKey;

use crate::support::*;

const LEASE: Duration = Duration::from_secs(60);

pub async fn a_record_is_locked_by_one_holder_at_a_time(t: TestStore) {
    let other_process = t.open_again().await;
    let record = [RecordKey::new("Opportunity", "006A")];
    assert!(t
        .store
        .try_lock_records("batch-1", &record, LEASE)
        .await
        .expect("lock"));
    let same_record = [RecordKey::new("opportunity", "006A")];
    assert!(
        !other_process
            .try_lock_records("batch-2", &same_record, LEASE)
            .await
            .expect("lock"),
        "the object is compared case-insensitively"
    );
    let other = [RecordKey::new("Opportunity", "006B")];
    assert!(other_process
        .try_lock_records("batch-2", &other, LEASE)
        .await
        .expect("lock"));
    t.store.unlock_records("batch-1").await.expect("unlock");
    assert!(other_process
        .try_lock_records("batch-2", &same_record, LEASE)
        .await
        .expect("lock"));
}

pub async fn locks_are_all_or_nothing(t: TestStore) {
    let store = &t.store;
    let a = RecordKey::new("Opportunity", "006A");
    let b = RecordKey::new("Opportunity", "006B");
    assert!(store
        .try_lock_records("first", std::slice::from_ref(&b), LEASE)
        .await
        .expect("lock"));
    assert!(!store
        .try_lock_records("second", &[a.clone(), b.clone()], LEASE)
        .await
        .expect("lock"));
    // `second` took nothing: a third holder gets 006A.
    assert!(store
        .try_lock_records("third", &[a], LEASE)
        .await
        .expect("lock"));
}

pub async fn an_expired_lock_is_taken_over(t: TestStore) {
    let store = &t.store;
    let record = [RecordKey::new("Opportunity", "006A")];
    assert!(store
        .try_lock_records("died", &record, Duration::from_millis(50))
        .await
        .expect("lock"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(
        Duration::from_secs(5),
        store.lock_records("next", &record, LEASE),
    )
    .await
    .expect("taken over once the lease ran out")
    .expect("lock");
}
