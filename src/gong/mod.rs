//! Gong API client: fetches a call's extended data with its trackers.

pub mod types;

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::config::GongSettings;
use crate::retry::{Classify, Disposition};
use crate::telemetry;
use types::{Call, CallsPage, ErrorBody};

#[derive(Debug, thiserror::Error)]
pub enum GongError {
    #[error("Gong could not be reached: {0}")]
    Transport(String),
    #[error("Gong rate limit reached (429){}", retry_after_text(*.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error(
        "Gong rejected the API credentials (401): check gong.access_key and \
         gong.access_key_secret; some tenants must use their own host (gong.base_url = \
         https://us-NNNNN.api.gong.io, shown in Gong under Company settings -> API)"
    )]
    Unauthorized,
    #[error("call {call_id} was not found in Gong")]
    CallNotFound { call_id: String },
    #[error("Gong answered {status}: {message}")]
    Upstream { status: u16, message: String },
    #[error("Gong sent a response this service cannot read: {0}")]
    Decode(String),
}

fn retry_after_text(after: Option<Duration>) -> String {
    after.map_or_else(String::new, |d| format!(", retry after {}s", d.as_secs()))
}

impl Classify for GongError {
    fn disposition(&self) -> Disposition {
        match self {
            Self::Transport(_) | Self::Decode(_) => Disposition::Retry { after: None },
            Self::RateLimited { retry_after } => Disposition::Retry {
                after: *retry_after,
            },
            Self::Upstream { status, .. } if *status >= 500 => Disposition::Retry { after: None },
            Self::Unauthorized | Self::CallNotFound { .. } | Self::Upstream { .. } => {
                Disposition::Permanent
            }
        }
    }
}

#[derive(Clone)]
pub struct GongClient {
    http: reqwest::Client,
    calls_url: String,
    access_key: SecretString,
    access_key_secret: SecretString,
}

impl std::fmt::Debug for GongClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GongClient")
            .field("calls_url", &self.calls_url)
            .finish_non_exhaustive()
    }
}

impl GongClient {
    /// `settings` must have passed validation (credentials present).
    pub fn new(settings: &GongSettings, http: reqwest::Client) -> Self {
        let missing = || SecretString::from(String::new());
        Self {
            http,
            calls_url: format!(
                "{}/v2/calls/extensive",
                settings.base_url.trim_end_matches('/')
            ),
            access_key: settings.access_key.clone().unwrap_or_else(missing),
            access_key_secret: settings.access_key_secret.clone().unwrap_or_else(missing),
        }
    }

    /// The call with its Extended CRM context and trackers.
    pub async fn fetch_call(&self, call_id: &str) -> Result<Call, GongError> {
        let body = json!({
            "filter": { "callIds": [call_id] },
            "contentSelector": {
                "context": "Extended",
                "exposedFields": { "content": { "trackers": true } }
            }
        });
        let response = self
            .http
            .post(&self.calls_url)
            .basic_auth(
                self.access_key.expose_secret(),
                Some(self.access_key_secret.expose_secret()),
            )
            .json(&body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                telemetry::upstream_request("gong", None);
                return Err(GongError::Transport(telemetry::error_chain(
                    &error.without_url(),
                )));
            }
        };
        let status = response.status();
        telemetry::upstream_request("gong", Some(status.as_u16()));
        let retry_after = retry_after(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| GongError::Transport(telemetry::error_chain(&e.without_url())))?;
        match status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => {
                return Err(GongError::CallNotFound {
                    call_id: call_id.to_owned(),
                })
            }
            StatusCode::UNAUTHORIZED => return Err(GongError::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS => return Err(GongError::RateLimited { retry_after }),
            s => {
                return Err(GongError::Upstream {
                    status: s.as_u16(),
                    message: error_message(&text),
                })
            }
        }
        let page: CallsPage =
            serde_json::from_str(&text).map_err(|e| GongError::Decode(e.to_string()))?;
        page.calls
            .into_iter()
            .find(|call| call.meta_data.id == call_id)
            .ok_or_else(|| GongError::CallNotFound {
                call_id: call_id.to_owned(),
            })
    }
}

/// `Retry-After` in seconds; Gong does not send the HTTP-date form.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn error_message(body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(parsed) if !parsed.errors.is_empty() => parsed.errors.join("; "),
        _ => telemetry::excerpt(body),
    }
}
