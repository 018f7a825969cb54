//! Every error answer is `{"error": "<code>", "message": "<text>"}`, including those made by
//! middleware and extractors (408, 431, query-string rejections) rather than by handlers.

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::connections::{connect, read_response};
use crate::helpers::*;

const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The error's code, after checking the body is the documented JSON shape.
fn json_error(content_type: Option<&str>, body: &[u8]) -> (String, String) {
    assert!(
        content_type.is_some_and(|v| v.starts_with("application/json")),
        "content-type {content_type:?}, body {:?}",
        String::from_utf8_lossy(body)
    );
    let body: Value = serde_json::from_slice(body).expect("JSON error body");
    let code = body["error"].as_str().expect("error").to_owned();
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!code.is_empty() && !message.is_empty(), "{body}");
    (code, message)
}

async fn json_error_of(response: reqwest::Response, status: u16) -> (String, String) {
    assert_eq!(response.status(), status);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.expect("body");
    json_error(content_type.as_deref(), &body)
}

#[tokio::test]
async fn a_request_whose_body_never_completes_gets_a_json_408() {
    let app = TestApp::builder()
        .with("SERVER__REQUEST_TIMEOUT", "300ms")
        .spawn()
        .await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /webhooks/gong HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"callData\":"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 408, "{}", response.head);
    let content_type = response
        .head
        .lines()
        .find_map(|line| line.strip_prefix("content-type:"))
        .map(str::trim);
    let (code, message) = json_error(content_type, &response.body);
    assert_eq!(code, "request_timeout");
    assert!(message.contains("server.request_timeout"), "{message}");
    assert_eq!(app.store.count_jobs().await.expect("count"), 0);
    app.stop().await;
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_a_json_431() {
    let app = TestApp::spawn().await;
    let mut many = app.http.get(app.url("/healthz"));
    for n in 0..150 {
        many = many.header(format!("x-filler-{n}"), "v");
    }
    let (code, message) = json_error_of(many.send().await.expect("sent"), 431).await;
    assert_eq!(code, "request_header_fields_too_large");
    assert!(message.contains("header"), "{message}");

    let huge = app
        .http
        .get(app.url("/healthz"))
        .header("x-filler", "v".repeat(80 * 1024))
        .send()
        .await
        .expect("sent");
    let (code, _) = json_error_of(huge, 431).await;
    assert_eq!(code, "request_header_fields_too_large");

    // Within the limits, the same request is served.
    let mut fine = app.http.get(app.url("/healthz"));
    for n in 0..90 {
        fine = fine.header(format!("x-filler-{n}"), "v".repeat(500));
    }
    assert_eq!(fine.send().await.expect("sent").status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_query_string_the_admin_api_cannot_read_gets_a_json_400() {
    let app = TestApp::builder()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    let response = app
        .http
        .get(app.url("/admin/jobs?limit=-1"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("sent");
    let (code, message) = json_error_of(response, 400).await;
    assert_eq!(code, "bad_request");
    assert!(message.contains("limit"), "{message}");
    app.stop().await;
}
