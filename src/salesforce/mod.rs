//! Salesforce REST client: reads and updates record fields.

mod auth;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

pub use auth::{AccessToken, TokenProvider};

use crate::config::{ConfigError, SalesforceSettings};
use crate::retry::{Classify, Disposition};
use crate::store::{Store, StoreError};
use crate::telemetry;
use types::ApiError;

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
                (_, "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" | "REQUEST_LIMIT_EXCEEDED") => {
                    RETRY
                }
                _ => Disposition::Permanent,
            },
            Self::Grant { .. }
            | Self::TokenEndpoint { .. }
            | Self::Assertion(_)
            | Self::SessionRejected => Disposition::Permanent,
        }
    }
}

pub struct SalesforceClient {
    http: reqwest::Client,
    api_version: String,
    tokens: Arc<TokenProvider>,
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
        })
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
    async fn send(
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
