//! Faults upstream: exact attempt counts and final states; dead letters and their replay;
//! duplicate deliveries; shutdown.

use std::time::{Duration, Instant};

use competitor_sync::store::{JobStatus, Store, TargetStatus};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
const SECOND_OPPORTUNITY: &str = "0063t000012AbCeAAK";
const SECOND_URL: &str = "/services/data/v62.0/sobjects/Opportunity/0063t000012AbCeAAK";

/// The next `times` collection updates fail as a whole with `status`.
async fn patch_fails(app: &TestApp, status: u16, body: Value, times: u64) {
    Mock::given(method("PATCH"))
        .and(path(COLLECTIONS_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .up_to_n_times(times)
        .mount(&app.salesforce)
        .await;
}

fn two_opportunities() -> Value {
    webhook_with(|call| {
        call["context"][0]["objects"]
            .as_array_mut()
            .expect("objects")
            .push(
                json!({"objectType": "Opportunity", "objectId": SECOND_OPPORTUNITY, "fields": []}),
            );
    })
}

#[tokio::test]
async fn a_salesforce_outage_is_retried_and_the_write_happens_once_it_is_over() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    patch_fails(
        &app,
        503,
        json!([{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]),
        2,
    )
    .await;
    app.mount_records().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Done, 3), "{job:?}");
    assert_eq!(app.patches().await.len(), 3);
    assert_eq!(
        app.writes(&job.id).await.len(),
        1,
        "one write recorded, for the success"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_locked_row_is_retried() {
    let app = TestApp::builder().without_workers().spawn().await;
    let records = app.mount_happy_path().await;
    records.fail(OPPORTUNITY, "UNABLE_TO_LOCK_ROW", 1);
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Done, 2), "{job:?}");
    assert_eq!(app.patches().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn gongs_retry_after_is_honoured() {
    let app = TestApp::builder().without_workers().spawn().await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "2")
                .set_body_json(json!({"errors": ["Too many requests"]})),
        )
        .up_to_n_times(1)
        .mount(&app.gong)
        .await;
    app.mount_happy_path().await;
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;
    let waiting = app.job(&job_id).await;
    assert_eq!(waiting.status, JobStatus::Queued, "{waiting:?}");
    assert!(waiting
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("429"));
    assert!(
        waiting.run_after - waiting.updated_at >= 2000,
        "next attempt only after Retry-After (base delay is 50ms): {waiting:?}"
    );
    assert_eq!(
        waiting.attempts, 0,
        "being rate limited costs the job no attempt"
    );
    app.run_jobs_until_settled().await;
    let job = app.finished_job(&job_id).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Done, 1));
    assert_eq!(app.gong_requests().await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn a_job_that_runs_out_of_attempts_ends_dead_with_the_last_error() {
    let app = TestApp::builder()
        .without_workers()
        .with("RETRY__MAX_ATTEMPTS", "3")
        .spawn()
        .await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    patch_fails(
        &app,
        500,
        json!([{"message": "boom", "errorCode": "UNKNOWN_EXCEPTION"}]),
        100,
    )
    .await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Dead, 3), "{job:?}");
    assert_eq!(app.patches().await.len(), 3);
    let outcome = job.outcome.unwrap_or_default();
    assert!(outcome.starts_with("gave up after 3 attempts"), "{outcome}");
    assert!(outcome.contains("UNKNOWN_EXCEPTION"), "{outcome}");
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_opportunity_does_not_block_the_others_and_can_be_replayed() {
    let app = TestApp::builder()
        .without_workers()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["context"] = two_opportunities()["callData"]["context"].clone();
    let records = app.mount_happy_path_for(&call).await;
    records.fail(OPPORTUNITY, "ENTITY_IS_DELETED", 1);

    let job = app.process(&two_opportunities()).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Dead, 1), "{job:?}");
    let outcome = job.outcome.clone().unwrap_or_default();
    assert!(outcome.contains("1 of 2 records"), "{outcome}");
    assert!(outcome.contains("ENTITY_IS_DELETED"), "{outcome}");
    let targets = app.store.targets(&job.id).await.expect("targets");
    let status_of = |id: &str| targets.iter().find(|t| t.record_id == id).map(|t| t.status);
    assert_eq!(status_of(OPPORTUNITY), Some(TargetStatus::Dead));
    assert_eq!(status_of(SECOND_OPPORTUNITY), Some(TargetStatus::Done));
    assert_eq!(app.writes(&job.id).await.len(), 1);

    // The dead letter is listed, then replayed: only the failed record is written again.
    let listed: Value = app
        .http
        .get(app.url("/admin/jobs?status=dead"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed["jobs"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["jobs"][0]["id"], job.id.as_str());
    assert_eq!(listed["jobs"][0]["status"], "dead");
    assert!(listed["jobs"][0]["outcome"]
        .as_str()
        .unwrap_or_default()
        .contains("ENTITY_IS_DELETED"));

    let retried = app
        .http
        .post(app.url(&format!("/admin/jobs/{}/retry", job.id)))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(retried.status(), 202);
    app.run_pending_jobs().await;
    let replayed = app.finished_job(&job.id).await;
    assert_eq!(replayed.status, JobStatus::Done, "{replayed:?}");
    let paths: Vec<String> = app.patches().await.into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths.iter().filter(|p| *p == OPPORTUNITY_URL).count(), 2);
    assert_eq!(
        paths.iter().filter(|p| *p == SECOND_URL).count(),
        1,
        "not rewritten"
    );

    let detail = app
        .admin_get(ADMIN_TOKEN, &format!("/admin/jobs/{}", job.id))
        .await;
    assert_eq!(detail["status"], "done");
    assert_eq!(detail["writes"].as_array().map(Vec::len), Some(2));
    assert_eq!(detail["targets"].as_array().map(Vec::len), Some(2));
    app.stop().await;
}

#[tokio::test]
async fn admin_endpoints_need_their_token_and_vanish_without_one() {
    let app = TestApp::builder()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    let anonymous = app.get("/admin/jobs").await;
    assert_eq!(anonymous.status(), 401);
    let webhook_token = app
        .http
        .get(app.url("/admin/jobs"))
        .bearer_auth(WEBHOOK_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        webhook_token.status(),
        401,
        "the webhook token is not an admin token"
    );
    let bad_status = app
        .http
        .get(app.url("/admin/jobs?status=lost"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_status.status(), 400);
    let unknown = app
        .http
        .post(app.url("/admin/jobs/nope/retry"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 404);
    app.stop().await;

    let app = TestApp::spawn().await;
    let disabled = app
        .http
        .get(app.url("/admin/jobs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(disabled.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn an_exhausted_api_limit_pauses_salesforce_work_without_spending_attempts() {
    let app = TestApp::builder()
        .without_workers()
        .with("SALESFORCE__LIMIT_PAUSE", "1500ms")
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    patch_fails(&app, 403, fixture("sf_error_403_limit.json"), 1).await;
    app.mount_records().await;
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;

    let ready = app.readyz().await;
    let salesforce = ready["checks"]["salesforce"].as_str().unwrap_or_default();
    assert!(salesforce.starts_with("paused until"), "{salesforce}");
    assert!(
        salesforce.contains("REQUEST_LIMIT_EXCEEDED"),
        "{salesforce}"
    );
    assert_eq!(ready["status"], "ready", "webhooks are still accepted");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("competitor_sync_salesforce_paused 1"),
        "{metrics}"
    );

    app.run_jobs_until_settled().await;
    let job = app.finished_job(&job_id).await;
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Done, 1),
        "the deferral is not an attempt: {job:?}"
    );
    assert_eq!(
        app.patches().await.len(),
        2,
        "one refused, one after the pause: no hot retry"
    );
    app.stop().await;
}

#[tokio::test]
async fn values_longer_than_the_field_lose_whole_names() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    let mut describe = fixture("sf_opportunity_describe.json");
    for field in describe["fields"].as_array_mut().expect("fields") {
        if field["name"] == "Main_Competitors__c" {
            field["length"] = json!(20);
        }
    }
    // Mounted first, so it wins over the full-length describe mounted with the token.
    app.mount_describe(describe).await;
    app.mount_token().await;
    app.mount_records().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(
        app.patches().await[0].1,
        json!({"Main_Competitors__c": "Clari, Chorus"})
    );
    let describes = TestApp::requests_to(&app.salesforce, "GET", DESCRIBE_PATH).await;
    assert_eq!(describes.len(), 1);

    app.accept(&webhook_with(|call| {
        call["metaData"]["title"] = json!("changed")
    }))
    .await;
    app.run_pending_jobs().await;
    assert_eq!(app.patches().await.len(), 2, "the second job wrote");
    let describes = TestApp::requests_to(&app.salesforce, "GET", DESCRIBE_PATH).await;
    assert_eq!(describes.len(), 1, "the describe is cached");
    app.stop().await;
}

#[tokio::test]
async fn a_field_missing_from_the_describe_fails_the_job_with_a_configuration_hint() {
    let app = TestApp::builder()
        .without_workers()
        .config("[[sync.rules]]\nfield = \"Main_Competitor__c\"\n")
        .spawn()
        .await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!((job.status, job.attempts), (JobStatus::Dead, 1));
    let outcome = job.outcome.unwrap_or_default();
    assert!(
        outcome.contains("Opportunity.Main_Competitor__c cannot be written"),
        "{outcome}"
    );
    assert!(app.patches().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_redelivery_after_completion_is_recorded_and_skipped() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;
    assert_eq!(app.finished_job(&job_id).await.status, JobStatus::Done);

    let again = app.post_webhook(&fixture("gong_webhook.json")).await;
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.expect("JSON");
    assert_eq!(again["job_id"], job_id.as_str());
    assert_eq!(again["delivery"], "duplicate");
    assert_eq!(app.store.delivery_count(&job_id).await.expect("count"), 2);
    assert_eq!(app.store.count_jobs().await.expect("count"), 1);

    // Changed content is processed again.
    let changed = webhook_with(|call| {
        call["context"][0]["objects"]
            .as_array_mut()
            .expect("objects")
            .push(json!({"objectType": "Opportunity", "objectId": SECOND_OPPORTUNITY}));
    });
    let response: Value = app.post_webhook(&changed).await.json().await.expect("JSON");
    assert_eq!(response["delivery"], "new");
    app.run_pending_jobs().await;
    let job = app
        .finished_job(response["job_id"].as_str().expect("id"))
        .await;
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(app.patches().await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_releases_jobs_that_outlast_the_grace_period() {
    let app = TestApp::builder()
        .with("SERVER__SHUTDOWN_GRACE", "100ms")
        .spawn()
        .await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204).set_delay(Duration::from_secs(30)))
        .mount(&app.salesforce)
        .await;
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    eventually("the job to reach Salesforce", WAIT, || async {
        (!app.patches().await.is_empty()).then_some(())
    })
    .await;
    let stopping = Instant::now();
    let stopped = app.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "shutdown waited for the slow job"
    );
    let store = Store::connect(&stopped.store_url)
        .await
        .expect("store reopens");
    let job = store.job(&job_id).await.expect("read").expect("exists");
    assert_eq!(job.status, JobStatus::Queued, "released for the next start");
    assert_eq!(job.attempts, 0, "the interrupted attempt is not counted");
}
