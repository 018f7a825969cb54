//! What the API tests share: the real service started on an ephemeral port against wiremock
//! stand-ins for Gong and Salesforce, each with a store of its own (a SQLite file, or a fresh
//! database on the throw-away PostgreSQL server); the fixtures; waiting with a deadline.

mod app;
mod upstream;
mod waiting;

use std::collections::HashMap;

use serde_json::Value;

pub use app::{Stopped, TestApp, TestAppBuilder};
pub use waiting::{eventually, eventually_blocking, WAIT};

pub use crate::stand_ins::SalesforceRecords;

pub const WEBHOOK_TOKEN: &str = "test-webhook-token-0123456789";
pub const GONG_KEY: &str = "gong-access-key";
pub const GONG_SECRET: &str = "gong-access-key-secret-xyz";
pub const SF_CLIENT_ID: &str = "3MVG9-test-client-id";
pub const SF_CLIENT_SECRET: &str = "sf-client-secret-abc";
pub const ACCESS_TOKEN: &str = "00D5e000000XXXX!AQ0AQEXAMPLETOKEN";
pub const CALL_ID: &str = "7782342274025937895";
pub const OPPORTUNITY: &str = "0063t000012AbCdAAK";
pub const OPPORTUNITY_URL: &str = "/services/data/v62.0/sobjects/Opportunity/0063t000012AbCdAAK";
pub const TOKEN_PATH: &str = "/services/oauth2/token";
pub const GONG_PATH: &str = "/v2/calls/extensive";
pub const DESCRIBE_PATH: &str = "/services/data/v62.0/sobjects/Opportunity/describe";
pub const COLLECTIONS_PATH: &str = "/services/data/v62.0/composite/sobjects";
pub const QUERY_PATH: &str = "/services/data/v62.0/query";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture webhook with its `callData` edited by `edit`.
pub fn webhook_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = fixture("gong_webhook.json");
    edit(&mut body["callData"]);
    body
}

/// A `/v2/calls/extensive` answer holding `call` (a `callData`-shaped value).
pub fn extensive_with(call: &Value) -> Value {
    let mut page = fixture("gong_calls_extensive_one.json");
    page["calls"] = Value::Array(vec![call.clone()]);
    page
}

/// The backend the in-process tests run on: SQLite unless `COMPETITOR_SYNC_TEST_STORE` says
/// `postgres` (`.ci/run` and `scripts/test.sh` run the suite on both).
pub fn test_backend() -> &'static str {
    static BACKEND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BACKEND.get_or_init(|| {
        let backend = std::env::var("COMPETITOR_SYNC_TEST_STORE").unwrap_or_default();
        match backend.as_str() {
            "" | "sqlite" => "sqlite".to_owned(),
            "postgres" => backend,
            other => panic!("COMPETITOR_SYNC_TEST_STORE={other}: expected sqlite or postgres"),
        }
    })
}

/// A fresh store for one test app: a SQLite file in `dir`, or a new database on the
/// throw-away PostgreSQL server.
pub async fn test_store_url(dir: &std::path::Path) -> String {
    match test_backend() {
        "postgres" => crate::postgres_server::Server::get().fresh_database().await,
        _ => store_url(dir),
    }
}

/// The store of a test app whose directory is `dir`.
pub fn store_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}/store/jobs.db", dir.display())
}

/// Asserts a JSON error with `status` and `code`, and that nothing was stored or sent
/// upstream. Returns the message.
pub async fn assert_rejected(
    app: &TestApp,
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> String {
    assert_eq!(response.status(), status);
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["error"], code, "{body}");
    let message = body["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    assert_eq!(
        app.store.count_jobs().await.expect("count"),
        0,
        "nothing stored"
    );
    assert!(TestApp::all_requests(&app.gong).await.is_empty());
    assert!(TestApp::all_requests(&app.salesforce).await.is_empty());
    message
}

pub fn form(request: &wiremock::Request) -> HashMap<String, String> {
    url_pairs(std::str::from_utf8(&request.body).expect("form body is text"))
}

fn url_pairs(text: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{text}"))
        .expect("form parses")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
