//! `POST /webhooks/gong`: validate, store, acknowledge. No upstream I/O happens here.

mod duplicate_keys;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::ApiError;
use super::AppState;
use crate::digest::sha256_hex;
use crate::gong::types::{is_call_id, Call};
use crate::store::{DeliveryDisposition, NewJob, StoreError};
use crate::telemetry;

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub job_id: String,
    pub call_id: String,
    /// `new`, `joined` (the call's queued or running job) or `duplicate` (already processed
    /// with the same inputs).
    pub delivery: DeliveryDisposition,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "isTest", default)]
    is_test: Option<bool>,
    #[serde(rename = "callData", borrow, default)]
    call_data: Option<&'a RawValue>,
}

/// A webhook that passed validation.
#[derive(Debug)]
pub struct ValidWebhook<'a> {
    pub call_id: String,
    pub is_test: bool,
    pub call_data: &'a str,
    /// Fingerprint of the inputs (callData, key order aside, and isTest) for duplicate
    /// detection.
    pub content_hash: String,
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let result = accept(&state, &headers, &uri, body).await;
    telemetry::webhook_received(match &result {
        Ok(accepted) => match accepted.delivery {
            DeliveryDisposition::New => "accepted",
            DeliveryDisposition::Joined => "joined",
            DeliveryDisposition::Duplicate => "duplicate",
        },
        Err(e) => match e.status() {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_client_error() => "invalid",
            _ => "error",
        },
    });
    result.map(|accepted| (StatusCode::ACCEPTED, Json(accepted)))
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Accepted, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(state.max_body_bytes)
        } else {
            ApiError::bad_request("unreadable_body", rejection.body_text())
        }
    })?;
    // Authentication sees the raw bytes: signatures cover them, not a re-serialisation.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let admitted = state
        .auth
        .verify(headers, uri, &body, now)
        .map_err(|refusal| {
            tracing::warn!(reasons = ?refusal.0, "webhook rejected: not authenticated");
            ApiError::unauthorized(refusal.message())
        })?;
    let webhook = validate(&body).inspect_err(|e| {
        tracing::warn!(error = ?e, "webhook rejected");
    })?;
    let delivery = state
        .store
        .accept(NewJob {
            call_id: &webhook.call_id,
            is_test: webhook.is_test,
            call_data: webhook.call_data,
            content_hash: &webhook.content_hash,
            webhook_id: admitted.webhook_id(),
            auth: Some(admitted.method()),
        })
        .await
        .map_err(|e| match e {
            StoreError::QueueFull { .. } => {
                tracing::warn!(error = %e, "webhook refused: the queue is full");
                ApiError::unavailable(format!("{e}; retry later"))
            }
            e => {
                tracing::error!(error = %e, "could not store the webhook");
                ApiError::unavailable("the job store is unavailable; retry the delivery")
            }
        })?;
    tracing::info!(
        job_id = %delivery.job_id,
        call_id = %webhook.call_id,
        is_test = webhook.is_test,
        delivery = delivery.disposition.as_str(),
        auth = admitted.method(),
        "webhook accepted"
    );
    Ok(Accepted {
        job_id: delivery.job_id,
        call_id: webhook.call_id,
        delivery: delivery.disposition,
    })
}

/// Checks the body is a Gong call webhook this service can process.
pub fn validate(body: &[u8]) -> Result<ValidWebhook<'_>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("invalid_json", "the body is not UTF-8 text"))?;
    // serde would also read a struct from a JSON array; Gong only ever sends an object.
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the body is not a JSON object as Gong sends",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let envelope: Envelope<'_> =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                ApiError::bad_request(
                    "invalid_json",
                    format!("the body is not valid JSON: {inner}"),
                )
            } else {
                ApiError::bad_request("invalid_payload", format!("{path}: {inner}"))
            }
        })?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("unexpected data after the JSON object: {e}"),
        )
    })?;
    if let Ok(Some(key)) = duplicate_keys::first_repeated(text) {
        return Err(ApiError::bad_request(
            "invalid_payload",
            format!("the key {key} appears more than once in its object"),
        ));
    }
    let call_data = envelope
        .call_data
        .filter(|raw| raw.get() != "null")
        .ok_or_else(|| ApiError::bad_request("invalid_payload", "callData is missing"))?;
    let value: serde_json::Value = serde_json::from_str(call_data.get())
        .map_err(|e| ApiError::bad_request("invalid_payload", format!("callData: {e}")))?;
    let id = value.pointer("/metaData/id");
    if id.is_none_or(serde_json::Value::is_null) {
        return Err(ApiError::bad_request(
            "invalid_payload",
            "callData.metaData.id is missing",
        ));
    }
    // Read from the stored text exactly as the worker will read it: what the door accepts,
    // the worker can process.
    let mut call_text = serde_json::Deserializer::from_str(call_data.get());
    let call: Call = serde_path_to_error::deserialize(&mut call_text).map_err(|e| {
        ApiError::bad_request(
            "invalid_payload",
            format!("callData.{}: {}", e.path(), e.inner()),
        )
    })?;
    let call_id = call.meta_data.id;
    if !is_call_id(&call_id) {
        return Err(ApiError::bad_request(
            "invalid_payload",
            "callData.metaData.id is not a Gong call id (up to 20 digits)",
        ));
    }
    let is_test = envelope.is_test.unwrap_or(false);
    // serde_json orders object keys, so the same call sent with its keys in another order
    // has the same fingerprint.
    let canonical = format!("{is_test}:{value}");
    Ok(ValidWebhook {
        call_id,
        is_test,
        call_data: call_data.get(),
        content_hash: sha256_hex(canonical.as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        let error = validate(body.as_bytes()).expect_err("should be rejected");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        format!("{error:?}")
    }

    #[test]
    fn the_fixture_webhook_is_valid() {
        let body = include_str!("../../tests/fixtures/gong_webhook.json");
        let webhook = validate(body.as_bytes()).expect("valid");
        assert_eq!(webhook.call_id, "7782342274025937895");
        assert!(!webhook.is_test);
        assert!(webhook.call_data.contains("\"Competitors\""));
    }

    #[test]
    fn gongs_documented_sample_is_valid() {
        let body = include_str!("../../tests/fixtures/gong_webhook_docs_sample.json");
        assert_eq!(
            validate(body.as_bytes()).expect("valid").call_id,
            "5599332235511222779"
        );
    }

    #[test]
    fn the_fingerprint_ignores_key_order_but_not_content_or_the_test_flag() {
        let hash = |body: &str| validate(body.as_bytes()).expect("valid").content_hash;
        let base = hash(r#"{"callData": {"metaData": {"id": "1", "title": "a"}}}"#);
        assert_eq!(
            base,
            hash(r#"{"callData": {"metaData": {"title": "a", "id": "1"}}}"#)
        );
        assert_ne!(
            base,
            hash(r#"{"callData": {"metaData": {"id": "1", "title": "b"}}}"#)
        );
        assert_ne!(
            base,
            hash(r#"{"isTest": true, "callData": {"metaData": {"id": "1", "title": "a"}}}"#)
        );
    }

    #[test]
    fn numeric_ids_and_test_flags_are_read() {
        let webhook =
            validate(br#"{"isTest": true, "callData": {"metaData": {"id": 123}}}"#).expect("valid");
        assert_eq!(webhook.call_id, "123");
        assert!(webhook.is_test);
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(message("not json").contains("not a JSON object"));
        assert!(message(r#"{"callData": "#).contains("not valid JSON"));
        assert!(message("[1,2]").contains("not a JSON object"));
        assert!(message("{}").contains("callData is missing"));
        assert!(message(r#"{"callData": null}"#).contains("callData is missing"));
        assert!(message(r#"{"callData": {"metaData": {}}}"#)
            .contains("callData.metaData.id is missing"));
        assert!(
            message(r#"{"callData": {"metaData": {"id": "abc"}}}"#).contains("not a Gong call id")
        );
        assert!(
            message(r#"{"callData": {"metaData": {"id": "1"}, "context": "x"}}"#)
                .contains("callData.context")
        );
        assert!(
            message(r#"{"isTest": "yes", "callData": {"metaData": {"id": "1"}}}"#)
                .contains("isTest")
        );
    }

    #[test]
    fn a_repeated_key_is_refused_naming_it() {
        let refused = message(r#"{"callData": {"metaData": {"id": "7", "id": "8"}}}"#);
        assert!(
            refused.contains("callData.metaData.id appears more than once"),
            "{refused}"
        );
        assert!(message(
            r#"{"isTest": false, "isTest": true, "callData": {"metaData": {"id": "7"}}}"#
        )
        .contains("isTest"));
    }
}
