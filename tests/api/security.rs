//! Webhook authentication end to end, and what hostile clients meet: slow loris, floods,
//! a full queue.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use competitor_sync::webhook_keys::HmacSecret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const HMAC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PUBLIC_URL: &str = "https://sync.example.com/webhooks/gong";

fn gong_public_key() -> String {
    fixture_text("jwt_test_key.pub.pem")
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect()
}

fn gong_jwt(body: &[u8], webhook_url: &str, exp_in: i64) -> String {
    let key = EncodingKey::from_rsa_pem(fixture_text("jwt_test_key.pem").as_bytes()).expect("key");
    let claims = json!({
        "exp": time::OffsetDateTime::now_utc().unix_timestamp() + exp_in,
        "body_sha256": sha256_hex(body),
        "webhook_url": webhook_url,
    });
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signed")
}

async fn signed_app() -> TestApp {
    TestApp::builder()
        .without_workers()
        .without("WEBHOOK__TOKEN")
        .with("WEBHOOK__GONG_PUBLIC_KEY", &gong_public_key())
        .with("WEBHOOK__PUBLIC_URL", PUBLIC_URL)
        .with("WEBHOOK__HMAC_SECRET", HMAC_SECRET)
        .spawn()
        .await
}

async fn post_with(app: &TestApp, body: &[u8], headers: &[(&str, String)]) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/webhooks/gong"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("sent")
}

fn standard_webhooks_headers(id: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let secret = HmacSecret::parse(HMAC_SECRET).expect("secret");
    let signature = STANDARD.encode(secret.sign(id, &timestamp.to_string(), body));
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            format!("v1,bm90IHRoaXMgb25l v1,{signature}"),
        ),
    ]
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn a_gong_signed_webhook_is_processed_end_to_end() {
    let app = signed_app().await;
    app.mount_happy_path().await;
    let body = fixture_text("gong_webhook.json").into_bytes();
    let jwt = gong_jwt(&body, PUBLIC_URL, 300);
    let response = post_with(&app, &body, &[("authorization", jwt)]).await;
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.expect("JSON");
    app.run_pending_jobs().await;
    let job = app
        .finished_job(accepted["job_id"].as_str().expect("id"))
        .await;
    assert_eq!(app.patches().await.len(), 1, "{job:?}");
    // Some senders put the JWT behind "Bearer ".
    let body = serde_json::to_vec(&webhook_with(|call| {
        call["metaData"]["title"] = json!("again")
    }))
    .expect("JSON");
    let jwt = gong_jwt(&body, PUBLIC_URL, 300);
    let response = post_with(&app, &body, &[("authorization", format!("Bearer {jwt}"))]).await;
    assert_eq!(response.status(), 202);
    app.stop().await;
}

#[tokio::test]
async fn a_gong_jwt_for_another_body_url_or_time_is_refused_and_changes_nothing() {
    let app = signed_app().await;
    app.mount_happy_path().await;
    let body = fixture_text("gong_webhook.json").into_bytes();
    let other_body = serde_json::to_vec(&webhook_with(|call| call["metaData"]["id"] = json!("1")))
        .expect("JSON");
    let cases = [
        (gong_jwt(&other_body, PUBLIC_URL, 300), "body_sha256"),
        (
            gong_jwt(&body, "https://elsewhere.example.com/webhooks/gong", 300),
            "webhook_url",
        ),
        (gong_jwt(&body, PUBLIC_URL, -600), "expired"),
    ];
    for (jwt, reason) in cases {
        let response = post_with(&app, &body, &[("authorization", jwt)]).await;
        let message = assert_rejected(&app, response, 401, "unauthorized").await;
        assert!(message.contains(reason), "{message}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_standard_webhooks_id_deduplicates_redeliveries_but_not_another_call_under_it() {
    let app = signed_app().await;
    app.mount_happy_path().await;
    let body = fixture_text("gong_webhook.json").into_bytes();
    let response = post_with(
        &app,
        &body,
        &standard_webhooks_headers("msg_42", now(), &body),
    )
    .await;
    assert_eq!(response.status(), 202);
    let first: Value = response.json().await.expect("JSON");
    assert_eq!(first["delivery"], "new");
    app.run_pending_jobs().await;
    app.finished_job(first["job_id"].as_str().expect("id"))
        .await;

    // The relay retries the same message: the id marks it a duplicate.
    let response = post_with(
        &app,
        &body,
        &standard_webhooks_headers("msg_42", now(), &body),
    )
    .await;
    let again: Value = response.json().await.expect("JSON");
    assert_eq!(again["delivery"], "duplicate");
    assert_eq!(again["job_id"], first["job_id"]);
    assert_eq!(app.patches().await.len(), 1);

    // A sender reusing the id for another call sends new work: it must not be hidden as a
    // duplicate of the first call's job.
    let other = webhook_with(|call| call["metaData"]["id"] = json!("7782342274025937999"));
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"filter": {"callIds": ["7782342274025937999"]}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(extensive_with(&other["callData"])))
        .with_priority(1)
        .mount(&app.gong)
        .await;
    let other_call = serde_json::to_vec(&other).expect("JSON");
    let response = post_with(
        &app,
        &other_call,
        &standard_webhooks_headers("msg_42", now(), &other_call),
    )
    .await;
    assert_eq!(response.status(), 202);
    let reused: Value = response.json().await.expect("JSON");
    assert_eq!(reused["delivery"], "new", "{reused}");
    assert_eq!(reused["call_id"], "7782342274025937999");
    assert_ne!(reused["job_id"], first["job_id"]);
    app.run_pending_jobs().await;
    let job = app
        .finished_job(reused["job_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        job.status,
        competitor_sync::store::JobStatus::Done,
        "{job:?}"
    );
    assert_eq!(
        app.patches().await.len(),
        2,
        "the other call was written too"
    );
    app.stop().await;
}

#[tokio::test]
async fn standard_webhooks_failures_are_401s_that_change_nothing() {
    let app = signed_app().await;
    let body = fixture_text("gong_webhook.json").into_bytes();
    let tampered = fixture_text("gong_webhook.json")
        .replace("Clari", "Clara")
        .into_bytes();
    // 330 s, well past the 300 s window: the clock may tick between signing and checking.
    // The exact boundary is pinned by the fixed-clock vectors in the unit tests.
    let mut cases = vec![
        (
            standard_webhooks_headers("msg_1", now(), &tampered),
            "no webhook-signature matches",
        ),
        (
            standard_webhooks_headers("msg_1", now() - 330, &body),
            "more than 5 minutes old",
        ),
        (
            standard_webhooks_headers("msg_1", now() + 330, &body),
            "more than 5 minutes ahead",
        ),
    ];
    let mut missing = standard_webhooks_headers("msg_1", now(), &body);
    missing.retain(|(name, _)| *name != "webhook-timestamp");
    cases.push((missing, "webhook-timestamp header is missing"));
    let mut duplicated = standard_webhooks_headers("msg_1", now(), &body);
    duplicated.push(("webhook-id", "msg_2".to_owned()));
    cases.push((duplicated, "webhook-id header is sent more than once"));
    for (headers, reason) in cases {
        let response = post_with(&app, &body, &headers).await;
        let message = assert_rejected(&app, response, 401, "unauthorized").await;
        assert!(message.contains(reason), "{message}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    let app = TestApp::builder()
        .with("SERVER__HEADER_READ_TIMEOUT", "500ms")
        .spawn()
        .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        stream
            .write_all(b"POST /webhooks/gong HTTP/1.1\r\nHost: x\r\n")
            .expect("write");
        let mut buffer = [0u8; 512];
        eventually_blocking(
            "the server to cut off a header that never ends",
            Duration::from_secs(10),
            || {
                // One more header byte every 100ms: never completes the header block.
                if stream.write_all(b"X").is_err() {
                    return Some("closed");
                }
                match stream.read(&mut buffer) {
                    Ok(0) => return Some("closed"),
                    Ok(_) => return Some("answered"),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                    Err(_) => return Some("closed"),
                }
                std::thread::sleep(Duration::from_millis(100));
                None
            },
        )
    })
    .await
    .expect("client thread");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cut off late ({outcome}): {:?}",
        started.elapsed()
    );
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_flood_beyond_the_concurrency_limit_gets_503s_while_health_answers() {
    let app = TestApp::builder()
        .with("SERVER__MAX_CONCURRENT_WEBHOOKS", "2")
        .spawn()
        .await;
    app.mount_happy_path().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    // Two uploads that never finish their body hold both slots.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&address).expect("connect");
        let head = format!(
            "POST /webhooks/gong HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"callData\":"
        );
        stream.write_all(head.as_bytes()).expect("write");
        holders.push(stream);
    }
    let shed = eventually("a request to be shed", WAIT, || async {
        let response = app.post_webhook(&fixture("gong_webhook.json")).await;
        (response.status() == 503).then_some(response)
    })
    .await;
    assert_eq!(shed.headers().get("retry-after").expect("Retry-After"), "5");
    let body: Value = shed.json().await.expect("JSON");
    assert_eq!(body["error"], "overloaded");
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    app.metrics_text().await;

    drop(holders);
    eventually("the slots to be freed", WAIT, || async {
        let response = app.post_webhook(&fixture("gong_webhook.json")).await;
        (response.status() == 202).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let app = TestApp::builder()
        .without_workers()
        .with("STORE__MAX_QUEUED", "1")
        .spawn()
        .await;
    // Nothing runs the first job: it waits in the queue, filling it.
    app.accept(&fixture("gong_webhook.json")).await;
    let other = webhook_with(|call| call["metaData"]["id"] = json!("42"));
    let response = app.post_webhook(&other).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("store.max_queued"),
        "{body}"
    );
    assert_eq!(app.store.count_jobs().await.expect("count"), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_admin_token_needs_the_bearer_scheme_in_any_case() {
    const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
    let app = TestApp::builder()
        .with("ADMIN__TOKEN", ADMIN_TOKEN)
        .spawn()
        .await;
    let list = |authorization: String| {
        app.http
            .get(app.url("/admin/jobs"))
            .header("authorization", authorization)
            .send()
    };
    // Whitespace after the token is stripped by the HTTP parser before the guard sees it;
    // the guard's own refusal of it is tested in src/http/admin.rs.
    for refused in [
        ADMIN_TOKEN.to_owned(),
        format!("Basic {ADMIN_TOKEN}"),
        format!("Token {ADMIN_TOKEN}"),
        format!("Bearer{ADMIN_TOKEN}"),
    ] {
        let response = list(refused.clone()).await.expect("sent");
        let message = assert_rejected(&app, response, 401, "unauthorized").await;
        assert!(message.contains("Bearer"), "{refused:?}: {message}");
    }
    for accepted in [
        format!("bearer {ADMIN_TOKEN}"),
        format!("BEARER {ADMIN_TOKEN}"),
        format!("Bearer  {ADMIN_TOKEN}"),
    ] {
        let response = list(accepted.clone()).await.expect("sent");
        assert_eq!(response.status(), 200, "{accepted:?}");
    }
    app.stop().await;
}

/// Lower-case hex SHA-256, as Gong's `body_sha256` claim carries it.
fn sha256_hex(body: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
