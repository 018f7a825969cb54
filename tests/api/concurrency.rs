//! Many deliveries at once: one job per call, one writer per Opportunity, no lost names.

use std::time::Duration;

use competitor_sync::store::JobStatus;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::helpers::*;
use crate::stand_ins::{synthetic_call, webhook_for, GongCalls, SalesforceRecords};

#[tokio::test]
async fn simultaneous_deliveries_of_one_call_make_one_job_and_one_write() {
    const DELIVERIES: usize = 25;
    let app = TestApp::builder()
        .with("WORKER__CONCURRENCY", "4")
        .spawn()
        .await;
    app.mount_happy_path().await;
    let mut posts = JoinSet::new();
    for _ in 0..DELIVERIES {
        let (http, url) = (app.http.clone(), app.url("/webhooks/gong"));
        posts.spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(WEBHOOK_TOKEN)
                .json(&fixture("gong_webhook.json"))
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 202);
            let body: Value = response.json().await.expect("JSON");
            body["job_id"].as_str().expect("job id").to_owned()
        });
    }
    let job_ids: Vec<String> = posts.join_all().await;
    assert!(
        job_ids.iter().all(|id| *id == job_ids[0]),
        "one job: {job_ids:?}"
    );
    let job = app.finished_job(&job_ids[0]).await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(app.store.count_jobs().await.expect("count"), 1);
    assert_eq!(
        app.store.delivery_count(&job.id).await.expect("count"),
        DELIVERIES as u64
    );
    assert_eq!(app.gong_requests().await.len(), 1);
    assert_eq!(app.patches().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn calls_sharing_an_opportunity_in_merge_mode_lose_no_names() {
    const CALLS: u32 = 12;
    let shared = "0063t000099ShAr3AA";
    let app = TestApp::builder()
        .with("WORKER__CONCURRENCY", "4")
        .config("[[sync.rules]]\nmode = \"merge\"\n")
        .spawn()
        .await;
    let gong = GongCalls::default();
    gong.mount(&app.gong).await;
    app.mount_token().await;
    let records = app
        .mount_records_as(SalesforceRecords {
            read_delay: Duration::from_millis(30),
            ..SalesforceRecords::default()
        })
        .await;
    records.seed(shared, "Incumbent");

    let names: Vec<String> = (0..CALLS).map(|n| format!("Rival {n}")).collect();
    let mut posts = JoinSet::new();
    for (n, name) in (0..CALLS).zip(&names) {
        let call = synthetic_call(n, shared, &[name.as_str(), "Incumbent"]);
        gong.add(&call);
        let (http, url) = (app.http.clone(), app.url("/webhooks/gong"));
        posts.spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(WEBHOOK_TOKEN)
                .json(&webhook_for(&call))
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 202);
        });
    }
    posts.join_all().await;

    app.settled(u64::from(CALLS)).await;
    assert_eq!(
        app.store.queue_depth().await.expect("depth").done,
        u64::from(CALLS)
    );
    let value = records.value(shared).expect("written");
    let written: Vec<&str> = value.split(", ").collect();
    assert_eq!(written[0], "Incumbent", "{value}");
    assert_eq!(
        written.len(),
        CALLS as usize + 1,
        "every name exactly once: {value}"
    );
    for name in &names {
        assert!(written.contains(&name.as_str()), "{name} lost from {value}");
    }
    assert_eq!(records.patch_count(), CALLS as usize, "one write per call");
    app.stop().await;
}
