//! Each Salesforce OAuth flow, token renewal on 401, and configuration errors.

use competitor_sync::store::JobStatus;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn token_requests(app: &TestApp) -> Vec<wiremock::Request> {
    TestApp::requests_to(&app.salesforce, "POST", TOKEN_PATH).await
}

async fn mount_token_once(app: &TestApp, body: Value) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .up_to_n_times(1)
        .mount(&app.salesforce)
        .await;
    app.mount_describe(fixture("sf_opportunity_describe.json"))
        .await;
}

#[tokio::test]
async fn client_credentials_posts_the_client_id_and_secret() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done);
    let tokens = token_requests(&app).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].headers.get("content-type").expect("content type"),
        "application/x-www-form-urlencoded"
    );
    let form = form(&tokens[0]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], SF_CLIENT_ID);
    assert_eq!(form["client_secret"], SF_CLIENT_SECRET);
    app.stop().await;
}

#[tokio::test]
async fn jwt_bearer_sends_a_signed_assertion_salesforce_can_verify() {
    let app = TestApp::builder()
        .without_workers()
        .with("SALESFORCE__AUTH", "jwt_bearer")
        .with("SALESFORCE__USERNAME", "integration@acme.example")
        .with("SALESFORCE__PRIVATE_KEY", &fixture_text("jwt_test_key.pem"))
        .without("SALESFORCE__CLIENT_SECRET")
        .spawn()
        .await;
    app.mount_happy_path().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");

    let tokens = token_requests(&app).await;
    assert_eq!(tokens.len(), 1);
    let form = form(&tokens[0]);
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert!(!form.contains_key("client_secret"));
    let key = DecodingKey::from_rsa_pem(fixture_text("jwt_test_key.pub.pem").as_bytes())
        .expect("public key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://login.salesforce.com"]);
    validation.set_issuer(&[SF_CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(&form["assertion"], &key, &validation)
        .expect("assertion verifies with the connected app's certificate")
        .claims;
    assert_eq!(claims["sub"], "integration@acme.example");
    let exp = claims["exp"].as_i64().expect("exp");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now + 120..=now + 181).contains(&exp),
        "exp {exp} should be ~3 minutes ahead of {now}"
    );
    app.stop().await;
}

#[tokio::test]
async fn jwt_bearer_uses_the_configured_audience_for_sandboxes() {
    let app = TestApp::builder()
        .without_workers()
        .with("SALESFORCE__AUTH", "jwt_bearer")
        .with("SALESFORCE__USERNAME", "integration@acme.example.sandbox")
        .with("SALESFORCE__PRIVATE_KEY", &fixture_text("jwt_test_key.pem"))
        .with("SALESFORCE__AUDIENCE", "https://test.salesforce.com")
        .spawn()
        .await;
    app.mount_happy_path().await;
    app.process(&fixture("gong_webhook.json")).await;
    let form = form(&token_requests(&app).await[0]);
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&form["assertion"])
        .expect("assertion decodes")
        .claims;
    assert_eq!(claims["aud"], "https://test.salesforce.com");
    app.stop().await;
}

#[tokio::test]
async fn a_refresh_token_rotated_by_salesforce_is_stored_and_used_next() {
    let app = TestApp::builder()
        .without_workers()
        .with("SALESFORCE__AUTH", "refresh_token")
        .with("SALESFORCE__REFRESH_TOKEN", "refresh-1")
        .spawn()
        .await;
    app.mount_fixture_call().await;
    let mut first = app.token_body("access-1");
    first["refresh_token"] = json!("refresh-2");
    mount_token_once(&app, first).await;
    mount_token_once(&app, app.token_body("access-2")).await;
    Mock::given(method("PATCH"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(fixture("sf_error_401_invalid_session.json")),
        )
        .mount(&app.salesforce)
        .await;
    app.mount_records().await;

    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    let tokens = token_requests(&app).await;
    assert_eq!(tokens.len(), 2);
    let (first, second) = (form(&tokens[0]), form(&tokens[1]));
    assert_eq!(first["grant_type"], "refresh_token");
    assert_eq!(first["refresh_token"], "refresh-1");
    assert_eq!(first["client_id"], SF_CLIENT_ID);
    assert_eq!(first["client_secret"], SF_CLIENT_SECRET);
    assert_eq!(
        second["refresh_token"], "refresh-2",
        "the rotated token replaces the old one"
    );
    let stored = app
        .store
        .rotated_token("salesforce.refresh_token", "refresh-1")
        .await
        .expect("store read");
    assert_eq!(stored.as_deref(), Some("refresh-2"));
    app.stop().await;
}

#[tokio::test]
async fn an_expired_session_gets_one_new_token_and_one_retry() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    mount_token_once(&app, app.token_body("expired-token")).await;
    mount_token_once(&app, app.token_body("fresh-token")).await;
    Mock::given(method("PATCH"))
        .and(header("authorization", "Bearer expired-token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(fixture("sf_error_401_invalid_session.json")),
        )
        .mount(&app.salesforce)
        .await;
    app.mount_records().await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 1, "the renewal happens inside the attempt");
    assert_eq!(token_requests(&app).await.len(), 2);
    let patches = app.salesforce_data_requests().await;
    assert_eq!(patches.len(), 2);
    assert_eq!(
        patches[1].headers.get("authorization").expect("auth"),
        "Bearer fresh-token"
    );
    app.stop().await;
}

#[tokio::test]
async fn workers_that_see_the_same_expired_token_renew_it_once() {
    let app = TestApp::builder()
        .with("WORKER__CONCURRENCY", "4")
        .spawn()
        .await;
    mount_token_once(&app, app.token_body("expired-token")).await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(app.token_body("fresh-token")))
        .mount(&app.salesforce)
        .await;
    app.mount_fixture_call().await;
    Mock::given(method("PATCH"))
        .and(header("authorization", "Bearer expired-token"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(fixture("sf_error_401_invalid_session.json")),
        )
        .mount(&app.salesforce)
        .await;
    app.mount_records().await;
    let mut jobs = Vec::new();
    for _ in 0..8 {
        jobs.push(app.accept(&fixture("gong_webhook.json")).await);
    }
    for job in &jobs {
        assert_eq!(app.finished_job(job).await.status, JobStatus::Done);
    }
    assert_eq!(
        token_requests(&app).await.len(),
        2,
        "one initial token, one renewal"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_refused_grant_fails_jobs_with_a_clear_message_and_no_request_loop() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("sf_token_invalid_grant.json")),
        )
        .mount(&app.salesforce)
        .await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(app.accept(&fixture("gong_webhook.json")).await);
    }
    app.run_pending_jobs().await;
    for job_id in &jobs {
        let job = app.finished_job(job_id).await;
        assert_eq!(job.status, JobStatus::Dead);
        assert_eq!(job.attempts, 1, "a configuration error is not retried");
        let outcome = job.outcome.unwrap_or_default();
        assert!(outcome.contains("invalid_grant"), "{outcome}");
        assert!(
            outcome.contains("user hasn't approved this consumer"),
            "{outcome}"
        );
        assert!(outcome.contains("configuration"), "{outcome}");
    }
    assert_eq!(
        token_requests(&app).await.len(),
        1,
        "Salesforce is asked once, not per job"
    );
    assert!(app.salesforce_data_requests().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_token_rejected_twice_is_an_auth_failure_not_a_loop() {
    let app = TestApp::builder().without_workers().spawn().await;
    app.mount_fixture_call().await;
    app.mount_token().await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(fixture("sf_error_401_invalid_session.json")),
        )
        .mount(&app.salesforce)
        .await;
    let job = app.process(&fixture("gong_webhook.json")).await;
    assert_eq!(job.status, JobStatus::Dead);
    assert!(job
        .outcome
        .unwrap_or_default()
        .contains("401 after one renewal"));
    assert_eq!(token_requests(&app).await.len(), 2);
    assert_eq!(app.salesforce_data_requests().await.len(), 2);
    app.stop().await;
}

/// A token endpoint that answers 503 until `until`, then the fixture token.
struct DownUntil {
    until: std::time::Instant,
    token: Value,
}

impl wiremock::Respond for DownUntil {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        if std::time::Instant::now() < self.until {
            ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>")
        } else {
            ResponseTemplate::new(200).set_body_json(&self.token)
        }
    }
}

#[tokio::test]
async fn an_outage_of_the_token_endpoint_costs_a_handful_of_token_requests() {
    let webhooks: Vec<Value> = (0..40)
        .map(|n| webhook_with(|call| call["metaData"]["id"] = json!(format!("{}", 500 + n))))
        .collect();
    let app = TestApp::builder()
        .without_workers()
        .prefill(webhooks)
        .with("GONG__BATCH_SIZE", "10")
        .spawn()
        .await;
    let gong = crate::stand_ins::GongCalls::default();
    for n in 0..40 {
        let mut call = fixture("gong_webhook.json")["callData"].clone();
        call["metaData"]["id"] = json!(format!("{}", 500 + n));
        gong.add(&call);
    }
    Mock::given(method("POST"))
        .and(path(GONG_PATH))
        .respond_with(gong)
        .mount(&app.gong)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(DownUntil {
            until: std::time::Instant::now() + std::time::Duration::from_millis(2500),
            token: app.token_body(ACCESS_TOKEN),
        })
        .mount(&app.salesforce)
        .await;
    app.mount_describe(fixture("sf_opportunity_describe.json"))
        .await;
    app.mount_records().await;
    app.run_jobs_until_settled().await;
    assert_eq!(app.store.queue_depth().await.expect("depth").done, 40);
    let tokens = token_requests(&app).await.len();
    // Holds of 1 s then 2 s after each failure: three failures at most, then the success.
    assert!(tokens <= 4, "{tokens} token requests for a 2.5 s outage");
    app.stop().await;
}
