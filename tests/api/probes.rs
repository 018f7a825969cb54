//! Health, readiness and metrics.

use competitor_sync::store::JobStatus;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["checks"]["store"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn readiness_fails_when_the_store_is_gone() {
    let app = TestApp::spawn().await;
    app.store.close().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("JSON");
    assert_eq!(body["status"], "not_ready");
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200, "the process itself is still up");
}

#[tokio::test]
async fn metrics_expose_webhooks_jobs_upstream_requests_durations_and_queue_depth() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    for expected in [
        "competitor_sync_webhooks_received_total{outcome=\"accepted\"}",
        "competitor_sync_jobs_completed_total{outcome=\"synced\"}",
        "competitor_sync_upstream_requests_total{api=\"gong\",status=\"200\"}",
        "competitor_sync_upstream_requests_total{api=\"salesforce\",status=\"200\"}",
        "competitor_sync_upstream_requests_total{api=\"salesforce_auth\",status=\"200\"}",
        "competitor_sync_job_duration_seconds_bucket",
        "competitor_sync_queue_depth{state=\"done\"} 1",
        "competitor_sync_queue_depth{state=\"queued\"} 0",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    for secret in [WEBHOOK_TOKEN, GONG_SECRET, SF_CLIENT_SECRET, ACCESS_TOKEN] {
        assert!(!text.contains(secret));
    }
    app.stop().await;
}
