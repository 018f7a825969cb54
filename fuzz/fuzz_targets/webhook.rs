//! Fuzzes what an attacker controls at the webhook endpoint: the headers, the query string
//! and the body, through every verifier and the payload parser. Any panic is a finding.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use competitor_sync::config::WebhookSettings;
use competitor_sync::http::webhook::validate;
use competitor_sync::http::WebhookAuth;
use competitor_sync::webhook_keys::{GongKey, HmacSecret};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

/// The public half of tests/fixtures/jwt_test_key.pem, as Gong shows keys.
const GONG_KEY: &str = include_str!("../../tests/fixtures/jwt_test_key.pub.pem");
const NAMES: [&str; 5] = [
    "authorization",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
];

fn auth() -> &'static WebhookAuth {
    static AUTH: OnceLock<WebhookAuth> = OnceLock::new();
    AUTH.get_or_init(|| {
        WebhookAuth::from_settings(&WebhookSettings {
            token: Some(SecretString::from("fuzz-token-0123456789")),
            gong_public_keys: vec![GongKey::parse(GONG_KEY).expect("the fixture key")],
            hmac_secrets: vec![HmacSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .expect("a valid secret")],
            public_url: Some("https://sync.example.com/webhooks/gong".to_owned()),
            jwt_leeway: Duration::from_secs(60),
            allow_unauthenticated: false,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    // Layout: [header count] then per header [name index][length][value bytes], then
    // [query length][query bytes], then the body.
    let mut rest = data;
    let mut take = |n: usize| {
        let n = n.min(rest.len());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        head
    };
    let mut headers = HeaderMap::new();
    let count = take(1).first().copied().unwrap_or(0) % 6;
    for _ in 0..count {
        let name = NAMES[usize::from(take(1).first().copied().unwrap_or(0)) % NAMES.len()];
        let length = usize::from(take(1).first().copied().unwrap_or(0));
        if let Ok(value) = HeaderValue::from_bytes(take(length)) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let query_length = usize::from(take(1).first().copied().unwrap_or(0));
    let query = String::from_utf8_lossy(take(query_length)).into_owned();
    let uri = format!("/webhooks/gong?{query}")
        .parse::<Uri>()
        .unwrap_or_else(|_| Uri::from_static("/webhooks/gong"));
    let body = rest;
    let _ = auth().verify(&headers, &uri, body, 1_614_265_330);
    let _ = validate(body);
});
