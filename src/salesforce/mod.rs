//! Salesforce REST client: reads and updates record fields.

mod auth;
mod coalesce;
mod describe;
mod limits;
mod records;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::ExposeSecret;

use auth::{AccessToken, TokenProvider};
use coalesce::Coalescer;
use limits::{ApiUsage, PauseGate};
use records::{CollectionRecord, RecordOutcome};

use crate::config::SalesforceSettings;
use crate::retry::{Classify, Disposition};
use crate::shared::{SharedLimits, TokenVault};
use crate::{telemetry, upstream};
use types::{ApiError, Describe};

pub use describe::{CreatableRows, WritableField};
pub use records::{RecordCreate, RecordFailure, RecordUpdate};

/// Records per sObject Collections request, and ids per SOQL `IN` list.
pub const MAX_RECORDS_PER_REQUEST: usize = 200;

/// The error code Salesforce answers (403) once the org's daily API requests are used up.
const LIMIT_EXCEEDED: &str = "REQUEST_LIMIT_EXCEEDED";

#[derive(Debug, Clone, thiserror::Error)]
pub enum SalesforceError {
    #[error("Salesforce could not be reached: {0}")]
    Transport(String),
    #[error(
        "Salesforce refused the OAuth grant ({error}: {description}). This is a configuration \
         problem: check salesforce.auth, salesforce.login_url, salesforce.client_id and the \
         credentials of that flow, and that the connected app is approved for the user"
    )]
    Grant { error: String, description: String },
    #[error("Salesforce's token endpoint answered {status}: {message}")]
    TokenEndpoint { status: u16, message: String },
    #[error(
        "no Salesforce token: the last token request failed ({reason}); the next is sent in {}s",
        .retry_in.as_secs_f32().ceil()
    )]
    TokenHeld { retry_in: Duration, reason: String },
    #[error("could not sign the JWT bearer assertion: {0}")]
    Assertion(String),
    #[error(
        "Salesforce rejected a freshly issued access token (401 after one renewal): check that \
         the integration user has API access"
    )]
    SessionRejected,
    #[error("Salesforce answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("Salesforce sent a response this service cannot read: {0}")]
    Decode(String),
    #[error("Salesforce work is paused for {}s more: {reason}", .remaining.as_secs())]
    Paused { remaining: Duration, reason: String },
    #[error("{object}.{field} cannot be written: {reason}")]
    FieldUnusable {
        object: String,
        field: String,
        reason: String,
    },
    #[error("the shared state is unavailable: {0}")]
    SharedState(String),
}

impl Classify for SalesforceError {
    fn disposition(&self) -> Disposition {
        const RETRY: Disposition = Disposition::Retry { after: None };
        match self {
            Self::Transport(_) | Self::Decode(_) | Self::SharedState(_) => RETRY,
            Self::TokenEndpoint { status, .. } if *status >= 500 => RETRY,
            Self::Api { status, code, .. } => match (*status, code.as_str()) {
                (420 | 429, _) | (500..=599, _) => RETRY,
                (_, "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE") => RETRY,
                _ => Disposition::Permanent,
            },
            Self::Paused { remaining, .. } => Disposition::Defer { after: *remaining },
            Self::TokenHeld { retry_in, .. } => Disposition::Retry {
                after: Some(*retry_in),
            },
            Self::Grant { .. }
            | Self::TokenEndpoint { .. }
            | Self::Assertion(_)
            | Self::SessionRejected
            | Self::FieldUnusable { .. } => Disposition::Permanent,
        }
    }
}

impl SalesforceError {
    /// The Salesforce error code when the failure concerns one record (deleted, bad id, data
    /// rejected), as opposed to the whole integration (credentials, outage, configuration).
    /// Such a failure is recorded against that record and the job goes on with the others.
    pub fn record_error_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } if self.disposition() == Disposition::Permanent => {
                Some(code.as_str())
            }
            _ => None,
        }
    }
}

pub struct SalesforceClient {
    http: reqwest::Client,
    api_version: String,
    tokens: Arc<TokenProvider>,
    pause: PauseGate,
    pause_length: Duration,
    max_usage_ratio: f64,
    /// Describe results per object (lower-case name), fetched once per process and again
    /// when a write shows one stale.
    describes: tokio::sync::Mutex<HashMap<String, Arc<Describe>>>,
    /// Collection updates and creates of concurrent batches, each kind behind its own
    /// request in flight.
    updates: Coalescer<CollectionRecord, RecordOutcome, SalesforceError>,
    creates: Coalescer<CollectionRecord, RecordOutcome, SalesforceError>,
}

impl SalesforceClient {
    /// `limits` holds the pause every process honours; `vault` a rotated refresh token.
    pub fn new(
        settings: &SalesforceSettings,
        http: reqwest::Client,
        limits: Arc<dyn SharedLimits>,
        vault: Arc<dyn TokenVault>,
    ) -> Self {
        Self {
            tokens: Arc::new(TokenProvider::new(settings, http.clone(), vault)),
            http,
            api_version: settings.api_version.clone(),
            pause: PauseGate::new(limits),
            pause_length: settings.limit_pause,
            max_usage_ratio: settings.max_api_usage_ratio,
            describes: tokio::sync::Mutex::new(HashMap::new()),
            updates: Coalescer::new(),
            creates: Coalescer::new(),
        }
    }

    /// The org this service writes to, proving the OAuth flow works.
    pub async fn instance_url(&self) -> Result<String, SalesforceError> {
        Ok(self.tokens.token().await?.instance_url.clone())
    }

    /// Fails with [`SalesforceError::Paused`] while Salesforce work is paused (by any
    /// process using the store).
    pub async fn ensure_not_paused(&self) -> Result<(), SalesforceError> {
        match self.pause.active().await {
            Some(active) => Err(SalesforceError::Paused {
                remaining: active.remaining,
                reason: active.reason,
            }),
            None => Ok(()),
        }
    }

    /// Sends a request with the cached token; on 401 renews the token once and retries once.
    /// `REQUEST_LIMIT_EXCEEDED` starts a pause of all Salesforce work.
    async fn send(
        &self,
        request: impl Fn(&AccessToken) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SalesforceError> {
        self.ensure_not_paused().await?;
        match self.send_authenticated(request).await {
            Err(SalesforceError::Api { code, message, .. }) if code == LIMIT_EXCEEDED => {
                let reason = format!("{LIMIT_EXCEEDED}: {message}");
                tracing::error!(
                    pause_secs = self.pause_length.as_secs(),
                    %reason,
                    "Salesforce API limit reached: pausing all Salesforce work"
                );
                self.pause.start(self.pause_length, reason.clone()).await;
                Err(SalesforceError::Paused {
                    remaining: self.pause_length,
                    reason,
                })
            }
            other => other,
        }
    }

    async fn send_authenticated(
        &self,
        request: impl Fn(&AccessToken) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SalesforceError> {
        let token = self.tokens.token().await?;
        let response = self.execute(request(&token), &token).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return check(response).await;
        }
        tracing::info!("Salesforce access token expired or was revoked; renewing it once");
        let renewed = self.tokens.renew(&token).await?;
        let response = self.execute(request(&renewed), &renewed).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(SalesforceError::SessionRejected);
        }
        check(response).await
    }
}

impl SalesforceClient {
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
        token: &AccessToken,
    ) -> Result<reqwest::Response, SalesforceError> {
        let request = request.bearer_auth(token.value.expose_secret());
        let response = upstream::send_counted("salesforce", request)
            .await
            .map_err(SalesforceError::Transport)?;
        let usage = response
            .headers()
            .get("sforce-limit-info")
            .and_then(|value| value.to_str().ok())
            .and_then(ApiUsage::parse);
        if let Some(usage) = usage {
            telemetry::salesforce_api_usage(usage.used, usage.max);
            self.watch_usage(usage).await;
        }
        Ok(response)
    }

    /// Past `salesforce.max_api_usage_ratio` of the org's daily requests, writes pause so the
    /// org's other integrations keep their share.
    async fn watch_usage(&self, usage: ApiUsage) {
        if usage.max == 0 {
            return;
        }
        let ratio = usage.used as f64 / usage.max as f64;
        if ratio >= self.max_usage_ratio && self.pause.active().await.is_none() {
            let reason = format!(
                "the org has used {}/{} API requests ({:.0}%), past salesforce.max_api_usage_ratio ({:.0}%)",
                usage.used,
                usage.max,
                ratio * 100.0,
                self.max_usage_ratio * 100.0
            );
            tracing::warn!(%reason, pause_secs = self.pause_length.as_secs(), "pausing Salesforce writes");
            self.pause.start(self.pause_length, reason).await;
        }
    }
}

/// Passes a success through; turns anything else into a classified error.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, SalesforceError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response
        .text()
        .await
        .map_err(|e| SalesforceError::Transport(upstream::transport_error(e)))?;
    // Error bodies are arrays of {message, errorCode}; an edge proxy may send HTML instead.
    let first = serde_json::from_str::<Vec<ApiError>>(&body)
        .ok()
        .and_then(|errors| errors.into_iter().next());
    let (code, message) = match first {
        Some(error) => (error.error_code, error.message),
        None => (String::new(), upstream::excerpt(&body)),
    };
    Err(SalesforceError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}
