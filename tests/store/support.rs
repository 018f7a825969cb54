//! Fresh stores for the contract, and the few helpers the tests share.

use std::time::Duration;

use competitor_sync::store::{
    DeliveryDisposition, Ending, FieldWrite, Job, JobReport, NewJob, Resolution, Store, Target,
    TargetStatus,
};

/// A fresh, empty store of one backend.
pub struct TestStore {
    pub store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // A nested path: the store creates its directory.
        let url = format!("sqlite://{}/nested/dir/jobs.db", dir.path().display());
        let store = Store::connect(&url).await.expect("store opens");
        Self {
            store,
            url,
            _dir: Some(dir),
        }
    }

    /// A fresh database on this test binary's throw-away PostgreSQL server.
    pub async fn postgres() -> Self {
        let url = crate::postgres_server::Server::get().fresh_database().await;
        let store = Store::connect(&url).await.expect("store opens");
        Self {
            store,
            url,
            _dir: None,
        }
    }

    /// The same store opened again, as a second process (a backfill beside the service, a
    /// second replica) would.
    pub async fn open_again(&self) -> Store {
        Store::connect(&self.url).await.expect("store opens again")
    }
}

pub fn new_job(call_id: &str) -> NewJob<'_> {
    with_hash(call_id, "hash-1")
}

pub fn with_hash<'a>(call_id: &'a str, content_hash: &'a str) -> NewJob<'a> {
    NewJob {
        call_id,
        is_test: false,
        call_data: r#"{"metaData":{"id":"1"}}"#,
        content_hash,
        webhook_id: None,
        auth: Some("token"),
    }
}

/// Accepts a delivery that must create a job; returns its id.
pub async fn enqueue(store: &Store, job: NewJob<'_>) -> String {
    let delivery = store.accept(job).await.expect("accept");
    assert_eq!(delivery.disposition, DeliveryDisposition::New);
    delivery.job_id
}

pub async fn claim(store: &Store) -> Job {
    claim_for(store, Duration::from_secs(60))
        .await
        .expect("a job is due")
}

pub async fn claim_for(store: &Store, lease: Duration) -> Option<Job> {
    store.claim_batch(1, lease).await.expect("claim").pop()
}

/// Ends one claimed job; whether its lease was still held.
pub async fn end(store: &Store, job: &Job, ending: Ending) -> bool {
    store.end_jobs(&[(job, ending)]).await.expect("end")[0]
}

pub fn done() -> Ending {
    Ending::Done {
        summary: "wrote 1 field value(s) to 1 record(s)".into(),
        report: JobReport::default(),
    }
}

pub fn dead(reason: &str) -> Ending {
    Ending::Dead {
        reason: reason.into(),
        report: None,
    }
}

pub fn retry(reason: &str, delay: Duration) -> Ending {
    Ending::Retry {
        reason: reason.into(),
        delay,
        counts: true,
        plan: None,
    }
}

pub fn target(record_id: &str, status: TargetStatus) -> Target {
    Target {
        object: "Opportunity".into(),
        record_id: record_id.into(),
        status,
        detail: "x".into(),
    }
}

pub async fn resolve(store: &Store, job: &Job, target: Target, writes: Vec<FieldWrite>) {
    store
        .resolve_targets(&[Resolution {
            job,
            target: Some(target),
            writes,
        }])
        .await
        .expect("resolved");
}
