//! `POST /v2/calls/extensive` and `POST /v2/calls/transcript` over HTTP: Basic auth with the
//! configured access key, then Gong's documented few requests per second (429 with
//! `Retry-After` beyond, counted over both), then [`Calls`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::{error_body, Calls};
use crate::rate_window::{retry_after_secs, RateWindow};
use crate::Answer;

pub struct GongSettings {
    pub access_key: String,
    pub access_key_secret: String,
    /// Calls per page, at most 100 (Gong's).
    pub page_size: usize,
    pub requests_per_second: u32,
}

pub struct GongApi {
    calls: Mutex<Calls>,
    settings: GongSettings,
    window: Mutex<RateWindow>,
}

impl GongApi {
    /// `calls` in Gong's full shape, as [`crate::seed::calls`] builds them.
    pub fn new(calls: Vec<Value>, settings: GongSettings) -> Self {
        Self {
            calls: Mutex::new(Calls::new(calls, settings.page_size)),
            window: Mutex::new(RateWindow::per_second(settings.requests_per_second)),
            settings,
        }
    }

    /// Adds a call, or replaces the call with its id.
    pub fn add(&self, call: Value) {
        lock(&self.calls).add(call);
    }

    /// Whether `headers` carry the expected access key and secret as HTTP Basic auth.
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!(
            "{}:{}",
            self.settings.access_key, self.settings.access_key_secret
        );
        decoded == expected.as_bytes()
    }

    fn admit(&self, now: Instant) -> Result<(), Duration> {
        lock(&self.window).admit(now)
    }
}

/// A poisoned lock only means a panic elsewhere; the calls and the window are still sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn router(api: Arc<GongApi>) -> Router {
    Router::new()
        .route("/v2/calls/extensive", post(list_calls))
        .route("/v2/calls/transcript", post(list_transcripts))
        .with_state(api)
}

async fn list_calls(State(api): State<Arc<GongApi>>, headers: HeaderMap, body: Bytes) -> Response {
    match refusal_for(&api, &headers) {
        None => lock(&api.calls).respond(&body).into_response(),
        Some(refused) => refused,
    }
}

async fn list_transcripts(
    State(api): State<Arc<GongApi>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match refusal_for(&api, &headers) {
        None => lock(&api.calls).respond_transcripts(&body).into_response(),
        Some(refused) => refused,
    }
}

/// Gong's 401 for wrong credentials, or its 429 beyond the per-second limit; `None` when the
/// request may go on.
fn refusal_for(api: &GongApi, headers: &HeaderMap) -> Option<Response> {
    if !api.authorised(headers) {
        tracing::warn!("Gong: wrong or missing access key and secret (HTTP Basic auth)");
        return Some(refusal(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid credentials",
        ));
    }
    if let Err(wait) = api.admit(Instant::now()) {
        tracing::info!(
            "Gong: over {} requests/second, answered 429",
            api.settings.requests_per_second
        );
        let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after_secs(wait).into());
        return Some(response);
    }
    None
}

fn refusal(status: StatusCode, message: &str) -> Response {
    Answer {
        status,
        body: error_body(message),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_basic_credentials_are_accepted() {
        let api = GongApi::new(
            Vec::new(),
            GongSettings {
                access_key: "key".into(),
                access_key_secret: "secret".into(),
                page_size: 100,
                requests_per_second: 3,
            },
        );
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            headers
        };
        assert!(api.authorised(&with(&format!("Basic {}", STANDARD.encode("key:secret")))));
        assert!(!api.authorised(&with(&format!("Basic {}", STANDARD.encode("key:wrong")))));
        assert!(!api.authorised(&with("Bearer key:secret")));
        assert!(!api.authorised(&HeaderMap::new()));
    }
}
