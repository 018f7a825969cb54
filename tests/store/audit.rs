//! Record outcomes and the values written.

use competitor_sync::store::{FieldWrite, Resolution, TargetStatus};

use crate::support::*;

fn write(record_id: &str, value: &str) -> FieldWrite {
    FieldWrite {
        object: "Opportunity".into(),
        record_id: record_id.into(),
        field: "Main_Competitors__c".into(),
        old_value: Some("Gong".into()),
        new_value: value.into(),
        created_id: None,
    }
}

pub async fn record_outcomes_and_writes_are_kept_per_job(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("42")).await;
    let job = claim(store).await;
    let written = write("006A", "Gong, Clari");
    resolve(
        store,
        &job,
        target("006A", TargetStatus::Done),
        vec![written.clone()],
    )
    .await;
    // Resolving a record again (a retried attempt) replaces its outcome.
    resolve(store, &job, target("006B", TargetStatus::Dead), Vec::new()).await;
    resolve(store, &job, target("006B", TargetStatus::Done), Vec::new()).await;
    let targets = store.targets(&id).await.expect("targets");
    assert_eq!(
        targets,
        vec![
            target("006A", TargetStatus::Done),
            target("006B", TargetStatus::Done)
        ]
    );
    assert_eq!(
        store.writes_for_job(&id).await.expect("writes"),
        vec![written]
    );
}

pub async fn rows_created_keep_their_ids_with_or_without_an_outcome(t: TestStore) {
    let store = &t.store;
    let id = enqueue(store, new_job("43")).await;
    let job = claim(store).await;
    let row = |name: &str, created: &str| FieldWrite {
        object: "OpportunityCompetitor".into(),
        record_id: "006A".into(),
        field: "CompetitorName".into(),
        old_value: None,
        new_value: name.into(),
        created_id: Some(created.into()),
    };
    // A row created while another row of the record is still to be retried: its write is
    // kept, the record has no outcome yet.
    store
        .resolve_targets(&[Resolution {
            job: &job,
            target: None,
            writes: vec![row("Clari", "00J000000000001AAA")],
        }])
        .await
        .expect("resolved");
    assert!(store.targets(&id).await.expect("targets").is_empty());
    resolve(
        store,
        &job,
        target("006A", TargetStatus::Done),
        vec![row("Chorus", "00J000000000002AAA")],
    )
    .await;
    assert_eq!(
        store.writes_for_job(&id).await.expect("writes"),
        vec![
            row("Clari", "00J000000000001AAA"),
            row("Chorus", "00J000000000002AAA")
        ]
    );
    let history = store.record_writes("006A").await.expect("history");
    assert_eq!(
        history[0].created_id.as_deref(),
        Some("00J000000000002AAA"),
        "newest first, with the row's id"
    );
}

pub async fn a_batch_reads_its_earlier_outcomes_at_once(t: TestStore) {
    let store = &t.store;
    let first = enqueue(store, new_job("1")).await;
    let second = enqueue(store, new_job("2")).await;
    let untouched = enqueue(store, new_job("3")).await;
    let jobs = store
        .claim_batch(3, std::time::Duration::from_secs(60))
        .await
        .expect("claim");
    resolve(
        store,
        &jobs[0],
        target("006A", TargetStatus::Done),
        Vec::new(),
    )
    .await;
    resolve(
        store,
        &jobs[1],
        target("006B", TargetStatus::Dead),
        Vec::new(),
    )
    .await;
    resolve(
        store,
        &jobs[1],
        target("006C", TargetStatus::Done),
        Vec::new(),
    )
    .await;
    let all = store
        .targets_of_jobs(&[&first, &second, &untouched])
        .await
        .expect("targets");
    assert_eq!(all[&first], vec![target("006A", TargetStatus::Done)]);
    assert_eq!(all[&second].len(), 2);
    assert!(!all.contains_key(&untouched));
}
