//! Salesforce REST client: reads and updates record fields.

mod auth;
mod limits;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

pub use auth::{AccessToken, TokenProvider};
pub use limits::{ActivePause, ApiUsage, LimitPause};

use crate::config::{ConfigError, SalesforceSettings};
use crate::retry::{Classify, Disposition};
use crate::store::{Store, StoreError};
use crate::telemetry;
use types::{ApiError, Describe, DescribeField};

/// The error code Salesforce answers (403) once the org's daily API requests are used up.
const LIMIT_EXCEEDED: &str = "REQUEST_LIMIT_EXCEEDED";

#[derive(Debug, thiserror::Error)]
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SalesforceError {
    fn disposition(&self) -> Disposition {
        const RETRY: Disposition = Disposition::Retry { after: None };
        match self {
            Self::Transport(_) | Self::Decode(_) | Self::Store(_) => RETRY,
            Self::TokenEndpoint { status, .. } if *status >= 500 => RETRY,
            Self::Api { status, code, .. } => match (*status, code.as_str()) {
                (420 | 429, _) | (500..=599, _) => RETRY,
                (_, "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE") => RETRY,
                _ => Disposition::Permanent,
            },
            Self::Paused { remaining, .. } => Disposition::Defer { after: *remaining },
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
    pause: Arc<LimitPause>,
    pause_length: Duration,
    /// Describe results per object (lower-case name), fetched once per process.
    describes: tokio::sync::Mutex<HashMap<String, Arc<Vec<DescribeField>>>>,
}

impl SalesforceClient {
    pub fn new(
        settings: &SalesforceSettings,
        http: reqwest::Client,
        store: Store,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            tokens: Arc::new(TokenProvider::new(settings, http.clone(), store)?),
            http,
            api_version: settings.api_version.clone(),
            pause: Arc::new(LimitPause::default()),
            pause_length: settings.limit_pause,
            describes: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The daily-limit pause, shared with the readiness probe.
    pub fn limit_pause(&self) -> Arc<LimitPause> {
        Arc::clone(&self.pause)
    }

    /// Fails with [`SalesforceError::Paused`] while Salesforce work is paused.
    pub fn ensure_not_paused(&self) -> Result<(), SalesforceError> {
        match self.pause.active() {
            Some(active) => Err(SalesforceError::Paused {
                remaining: active.remaining,
                reason: active.reason,
            }),
            None => Ok(()),
        }
    }

    /// The described field `field` of `object`, checked to be writable. The object's describe
    /// is fetched on first use and kept for the life of the process.
    pub async fn writable_field(
        &self,
        object: &str,
        field: &str,
    ) -> Result<DescribeField, SalesforceError> {
        let fields = {
            let mut cache = self.describes.lock().await;
            match cache.get(&object.to_ascii_lowercase()) {
                Some(fields) => Arc::clone(fields),
                None => {
                    let fields = Arc::new(self.describe(object).await?);
                    cache.insert(object.to_ascii_lowercase(), Arc::clone(&fields));
                    fields
                }
            }
        };
        let unusable = |reason: &str| SalesforceError::FieldUnusable {
            object: object.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let found = fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(field))
            .ok_or_else(|| {
                unusable("no such field in the object's describe (check sync.rules field names)")
            })?;
        if !found.updateable {
            return Err(unusable(
                "the integration user may not update it (field-level security or a formula field)",
            ));
        }
        Ok(found.clone())
    }

    async fn describe(&self, object: &str) -> Result<Vec<DescribeField>, SalesforceError> {
        let response = self
            .send(|token| {
                self.http.get(format!(
                    "{}/services/data/{}/sobjects/{object}/describe",
                    token.instance_url, self.api_version
                ))
            })
            .await?;
        let describe: Describe = response
            .json()
            .await
            .map_err(|e| SalesforceError::Decode(format!("describe of {object}: {e}")))?;
        Ok(describe.fields)
    }

    /// Current values of `fields` on one record, keyed by field name as given. A field that is
    /// empty in Salesforce maps to `None`.
    pub async fn read_fields(
        &self,
        object: &str,
        record_id: &str,
        fields: &[&str],
    ) -> Result<HashMap<String, Option<String>>, SalesforceError> {
        let joined = fields.join(",");
        let response = self
            .send(|token| {
                self.http
                    .get(self.record_url(token, object, record_id))
                    .query(&[("fields", joined.as_str())])
            })
            .await?;
        let record: Map<String, Value> = response
            .json()
            .await
            .map_err(|e| SalesforceError::Decode(format!("record {record_id}: {e}")))?;
        Ok(fields
            .iter()
            .map(|field| {
                // Salesforce answers with the field's canonical spelling.
                let value = record
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(field))
                    .and_then(|(_, value)| match value {
                        Value::Null => None,
                        Value::String(text) => Some(text.clone()),
                        other => Some(other.to_string()),
                    });
                ((*field).to_owned(), value)
            })
            .collect())
    }

    /// Sets `values` (field name → text) on one record.
    pub async fn update_record(
        &self,
        object: &str,
        record_id: &str,
        values: &Map<String, Value>,
    ) -> Result<(), SalesforceError> {
        self.send(|token| {
            self.http
                .patch(self.record_url(token, object, record_id))
                .json(values)
        })
        .await?;
        Ok(())
    }

    fn record_url(&self, token: &AccessToken, object: &str, record_id: &str) -> String {
        format!(
            "{}/services/data/{}/sobjects/{object}/{record_id}",
            token.instance_url, self.api_version
        )
    }

    /// Sends a request with the cached token; on 401 renews the token once and retries once.
    /// `REQUEST_LIMIT_EXCEEDED` starts a pause of all Salesforce work.
    async fn send(
        &self,
        request: impl Fn(&AccessToken) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, SalesforceError> {
        self.ensure_not_paused()?;
        match self.send_authenticated(request).await {
            Err(SalesforceError::Api { code, message, .. }) if code == LIMIT_EXCEEDED => {
                let reason = format!("{LIMIT_EXCEEDED}: {message}");
                tracing::error!(
                    pause_secs = self.pause_length.as_secs(),
                    %reason,
                    "Salesforce API limit reached: pausing all Salesforce work"
                );
                self.pause.start(self.pause_length, reason.clone());
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
        let response = execute(request(&token), &token).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return check(response).await;
        }
        tracing::info!("Salesforce access token expired or was revoked; renewing it once");
        let renewed = self.tokens.renew(&token).await?;
        let response = execute(request(&renewed), &renewed).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(SalesforceError::SessionRejected);
        }
        check(response).await
    }
}

async fn execute(
    request: reqwest::RequestBuilder,
    token: &AccessToken,
) -> Result<reqwest::Response, SalesforceError> {
    let result = request
        .bearer_auth(token.value.expose_secret())
        .send()
        .await;
    match result {
        Ok(response) => {
            telemetry::upstream_request("salesforce", Some(response.status().as_u16()));
            let usage = response
                .headers()
                .get("sforce-limit-info")
                .and_then(|value| value.to_str().ok())
                .and_then(ApiUsage::parse);
            if let Some(usage) = usage {
                telemetry::salesforce_api_usage(usage.used, usage.max);
            }
            Ok(response)
        }
        Err(error) => {
            telemetry::upstream_request("salesforce", None);
            Err(SalesforceError::Transport(telemetry::error_chain(
                &error.without_url(),
            )))
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
        .map_err(|e| SalesforceError::Transport(telemetry::error_chain(&e.without_url())))?;
    // Error bodies are arrays of {message, errorCode}; an edge proxy may send HTML instead.
    let first = serde_json::from_str::<Vec<ApiError>>(&body)
        .ok()
        .and_then(|errors| errors.into_iter().next());
    let (code, message) = match first {
        Some(error) => (error.error_code, error.message),
        None => (String::new(), telemetry::excerpt(&body)),
    };
    Err(SalesforceError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}
