//! The admin API as the console reads it: jobs found by filter and the dead ones replayed
//! by filter, a job with its call and history, an Opportunity's history, the overview.

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

async fn admin_app() -> TestApp {
    TestApp::builder()
        .without_workers()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await
}

async fn post_admin(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

#[tokio::test]
async fn dead_jobs_are_found_by_their_error_and_replayed_by_filter() {
    let app = admin_app().await;
    app.mount_token().await;
    app.mount_records().await;
    // Gong knows none of these calls: each job ends dead at once.
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
        .mount(&app.gong)
        .await;
    let lost = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(lost.status, competitor_sync::store::JobStatus::Dead);

    let found = app
        .admin_get(
            ADMIN_TOKEN,
            "/admin/jobs?status=dead&q=NOT+FOUND&origin=webhook",
        )
        .await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["jobs"][0]["id"], lost.id.as_str());
    let none = app
        .admin_get(ADMIN_TOKEN, "/admin/jobs?status=dead&q=timeout")
        .await;
    assert_eq!(none["total"], 0, "{none}");

    let (status, retried) = post_admin(&app, "/admin/jobs/retry?q=not+found").await;
    assert_eq!(
        (status, retried["queued"].as_u64()),
        (202, Some(1)),
        "{retried}"
    );
    assert_eq!(
        app.job(&lost.id).await.status,
        competitor_sync::store::JobStatus::Queued
    );

    let refused = app
        .http
        .get(app.url("/admin/jobs?status=lost"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_status", "{body}");
}

#[tokio::test]
async fn a_job_shows_its_call_attempts_and_deliveries_and_a_record_its_writes() {
    let app = admin_app().await;
    app.mount_happy_path().await;
    let webhook = fixture("gong_webhook.json");
    let job = app.process(&webhook).await;
    app.accept(&webhook).await;

    let shown = app
        .admin_get(ADMIN_TOKEN, &format!("/admin/jobs/{}", job.id))
        .await;
    assert_eq!(
        shown["call"]["title"], "Acme Corp | Renewal pricing review",
        "{shown}"
    );
    let parties: Vec<&str> = shown["call"]["parties"]
        .as_array()
        .expect("parties")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(parties, ["Riley Rep", "Blake Buyer"]);
    assert_eq!(shown["attempt_history"][0]["outcome"], "done", "{shown}");
    let deliveries = shown["delivery_history"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0]["disposition"], "new");
    assert_eq!(deliveries[1]["disposition"], "duplicate");
    assert_eq!(deliveries[0]["auth"], "token");

    let record = app
        .admin_get(ADMIN_TOKEN, &format!("/admin/opportunities/{OPPORTUNITY}"))
        .await;
    assert_eq!(record["writes"][0]["call_id"], CALL_ID, "{record}");
    assert_eq!(record["writes"][0]["job_id"], job.id.as_str());
    assert_eq!(record["jobs"][0]["id"], job.id.as_str());
    let bad = app
        .http
        .get(app.url("/admin/opportunities/not-an-id"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);

    let overview = app.admin_get(ADMIN_TOKEN, "/admin/overview").await;
    assert_eq!(overview["jobs"]["done"], 1, "{overview}");
    assert_eq!(overview["last_24h"][0]["done"], 1, "{overview}");
    assert_eq!(overview["gong_daily_limit"], 10_000);
    assert!(
        overview["gong_requests_today"].as_u64() >= Some(1),
        "{overview}"
    );
}

#[tokio::test]
async fn a_job_waiting_for_its_next_attempt_is_retried_now_and_a_done_one_is_not() {
    let app = TestApp::builder()
        .without_workers()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .with("RETRY__BASE_DELAY", "1h")
        .with("RETRY__MAX_DELAY", "2h")
        .spawn()
        .await;
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.gong)
        .await;
    app.mount_happy_path().await;
    let job_id = app.accept(&fixture("gong_webhook.json")).await;
    app.run_pending_jobs().await;
    assert_eq!(
        app.job(&job_id).await.status,
        competitor_sync::store::JobStatus::Queued
    );
    assert_eq!(app.run_pending_jobs().await, 0, "waiting an hour");

    let (status, _) = post_admin(&app, &format!("/admin/jobs/{job_id}/retry")).await;
    assert_eq!(status, 202);
    app.run_pending_jobs().await;
    assert_eq!(
        app.job(&job_id).await.status,
        competitor_sync::store::JobStatus::Done
    );
    let (status, refused) = post_admin(&app, &format!("/admin/jobs/{job_id}/retry")).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("not_dead")),
        "{refused}"
    );
}
