//! Property: whatever arrives at the webhook endpoint, the answer is a 202 or a 4xx with a
//! JSON error body, never a 5xx, a panic or a hang.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// JSON shaped like Gong's payloads often enough to reach deep into the parser.
fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "callData",
        "metaData",
        "id",
        "context",
        "system",
        "objects",
        "objectType",
        "objectId",
        "content",
        "trackers",
        "name",
        "phrases",
        "phrase",
        "isTest",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e300f64..1e300).prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::String),
        "[0-9]{1,25}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|pairs| Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

/// The fixture webhook with one field replaced by anything.
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    let pointers = prop::sample::select(vec![
        "/isTest",
        "/callData",
        "/callData/metaData",
        "/callData/metaData/id",
        "/callData/context",
        "/callData/context/0",
        "/callData/context/0/objects",
        "/callData/context/0/objects/1",
        "/callData/context/0/objects/1/objectId",
        "/callData/content",
        "/callData/content/trackers",
        "/callData/content/trackers/0/phrases",
        "/callData/content/trackers/0/phrases/0/phrase",
    ]);
    (pointers, json_value()).prop_map(|(pointer, value)| {
        let mut body = fixture("gong_webhook.json");
        if let Some(slot) = body.pointer_mut(pointer) {
            *slot = value;
        }
        serde_json::to_vec(&body).unwrap_or_default()
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        json_value().prop_map(|v| serde_json::to_vec(&json!({"callData": v})).unwrap_or_default()),
        mutated_fixture(),
    ]
}

#[derive(Debug, Clone)]
enum Credentials {
    None,
    Token,
    TokenInQuery,
    Header(String, String),
}

fn credentials() -> impl Strategy<Value = Credentials> {
    let header_name = prop::sample::select(vec![
        "authorization",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-anything",
    ]);
    prop_oneof![
        Just(Credentials::None),
        Just(Credentials::Token),
        Just(Credentials::TokenInQuery),
        (header_name, "[ -~]{0,80}").prop_map(|(n, v)| Credentials::Header(n.to_owned(), v)),
    ]
}

#[test]
fn any_request_gets_a_202_or_a_4xx_json_error() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let app = runtime.block_on(
        TestApp::builder()
            .with(
                "WEBHOOK__HMAC_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            )
            .with("SERVER__MAX_BODY_BYTES", "4096")
            .spawn(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(body(), credentials()), |(body, credentials)| {
        let (status, answer) = runtime.block_on(async {
            let mut url = app.url("/webhooks/gong");
            let mut request = app
                .http
                .post(&url)
                .header("content-type", "application/json");
            match &credentials {
                Credentials::None => {}
                Credentials::Token => request = request.bearer_auth(WEBHOOK_TOKEN),
                Credentials::TokenInQuery => {
                    url.push_str(&format!("?key={WEBHOOK_TOKEN}"));
                    request = app
                        .http
                        .post(&url)
                        .header("content-type", "application/json");
                }
                Credentials::Header(name, value) => request = request.header(name, value),
            }
            let response = request.body(body.clone()).send().await.expect("answered");
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        });
        prop_assert!(
            status.as_u16() == 202 || status.is_client_error(),
            "status {} for {:?}: {}",
            status,
            credentials,
            answer
        );
        let parsed: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        if status.is_client_error() {
            prop_assert!(
                parsed["error"].is_string() && parsed["message"].is_string(),
                "{}",
                answer
            );
        } else {
            prop_assert!(parsed["job_id"].is_string(), "{}", answer);
        }
        Ok(())
    });
    runtime.block_on(app.stop());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
