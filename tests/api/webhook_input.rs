//! Rejected webhooks: a JSON error saying what is wrong, nothing stored, nothing sent upstream.

use serde_json::{json, Value};

use crate::helpers::*;

async fn post_raw(app: &TestApp, body: &'static str) -> reqwest::Response {
    app.http
        .post(app.url("/webhooks/gong"))
        .bearer_auth(WEBHOOK_TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

#[tokio::test]
async fn invalid_json_is_a_400() {
    let app = TestApp::spawn().await;
    let response = post_raw(&app, "{\"callData\": ").await;
    let message = assert_rejected(&app, response, 400, "invalid_json").await;
    assert!(message.contains("JSON"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn a_payload_without_a_call_id_is_a_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let response = post_raw(
        &app,
        r#"{"isTest": false, "callData": {"metaData": {"title": "x"}}}"#,
    )
    .await;
    let message = assert_rejected(&app, response, 400, "invalid_payload").await;
    assert_eq!(message, "callData.metaData.id is missing");
    let response = post_raw(&app, r#"{"isTest": false}"#).await;
    let message = assert_rejected(&app, response, 400, "invalid_payload").await;
    assert_eq!(message, "callData is missing");
    app.stop().await;
}

#[tokio::test]
async fn a_repeated_key_is_a_400_naming_it_not_a_job_that_dies_later() {
    let app = TestApp::spawn().await;
    let response = post_raw(
        &app,
        r#"{"callData": {"metaData": {"id": "7", "id": "8"}}}"#,
    )
    .await;
    let message = assert_rejected(&app, response, 400, "invalid_payload").await;
    assert_eq!(
        message,
        "the key callData.metaData.id appears more than once in its object"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_a_401() {
    let app = TestApp::spawn().await;
    let body = fixture("gong_webhook.json");
    let response = app
        .http
        .post(app.url("/webhooks/gong"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .expect("challenge"),
        "Bearer"
    );
    assert_rejected(&app, response, 401, "unauthorized").await;
    let response = app
        .http
        .post(app.url("/webhooks/gong"))
        .bearer_auth("not-the-token")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_rejected(&app, response, 401, "unauthorized").await;
    let response = app
        .http
        .post(app.url("/webhooks/gong?key=not-the-token"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_rejected(&app, response, 401, "unauthorized").await;
    app.stop().await;
}

#[tokio::test]
async fn the_token_in_the_url_is_accepted() {
    let app = TestApp::spawn().await;
    app.mount_happy_path().await;
    let response = app
        .http
        .post(app.url(&format!("/webhooks/gong?key={WEBHOOK_TOKEN}")))
        .json(&fixture("gong_webhook.json"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 202);
    assert_eq!(app.store.count_jobs().await.expect("count"), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = TestApp::builder()
        .with("SERVER__MAX_BODY_BYTES", "4096")
        .spawn()
        .await;
    let body = webhook_with(|call| call["metaData"]["title"] = json!("x".repeat(8192)));
    let response = app.post_webhook(&body).await;
    let message = assert_rejected(&app, response, 413, "payload_too_large").await;
    assert!(message.contains("4096"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let response = app.get("/nope").await;
    assert_rejected(&app, response, 404, "not_found").await;
    let response = app
        .http
        .get(app.url("/webhooks/gong"))
        .bearer_auth(WEBHOOK_TOKEN)
        .send()
        .await
        .expect("sent");
    assert_rejected(&app, response, 405, "method_not_allowed").await;
    app.stop().await;
}

#[tokio::test]
async fn the_job_is_stored_before_the_answer() {
    let app = TestApp::spawn().await;
    // No mocks: upstream answers 404, so the job cannot have been processed when we look.
    let response = app.post_webhook(&fixture("gong_webhook.json")).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.expect("JSON");
    let job = app
        .store
        .job(accepted["job_id"].as_str().expect("job id"))
        .await
        .expect("store read")
        .expect("the job is in the store when the 202 arrives");
    assert_eq!(job.call_id, CALL_ID);
    let stored: Value = serde_json::from_str(&job.call_data).expect("callData stored as JSON");
    assert_eq!(stored, fixture("gong_webhook.json")["callData"]);
    app.stop().await;
}
