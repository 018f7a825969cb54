//! Salesforce REST client: reads and updates record fields.

mod auth;
mod limits;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use auth::{AccessToken, TokenProvider};
use limits::{ApiUsage, PauseGate};

use crate::config::SalesforceSettings;
use crate::retry::{Classify, Disposition};
use crate::shared::{SharedLimits, TokenVault};
use crate::{telemetry, upstream};
use types::{ApiError, CollectionResult, Describe, DescribeField, QueryPage};

/// Records per sObject Collections request, and ids per SOQL `IN` list.
pub const MAX_RECORDS_PER_REQUEST: usize = 200;

/// New field values for one record.
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub object: String,
    pub record_id: String,
    pub values: Map<String, Value>,
}

/// Why Salesforce refused one record of a collection update.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RecordFailure {
    pub code: String,
    pub message: String,
}

impl RecordFailure {
    fn new(code: &str, message: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Another transaction held the record, or the org was briefly unavailable: try again.
    /// Anything else (deleted, bad id, rejected value) will fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" | "REQUEST_LIMIT_EXCEEDED"
        )
    }
}

fn field_text(record: &Map<String, Value>, field: &str) -> Option<String> {
    // Salesforce answers with the field's canonical spelling.
    record
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
        .and_then(|(_, value)| match value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        })
}

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
    /// Describe results per object (lower-case name), fetched once per process.
    describes: tokio::sync::Mutex<HashMap<String, Arc<Vec<DescribeField>>>>,
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

    /// Current values of `fields` on the `object` records `ids`, keyed by the 15-character
    /// form of each id (Salesforce answers with 18-character ids). One SOQL query per 200 ids.
    pub async fn query_fields(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<HashMap<String, HashMap<String, Option<String>>>, SalesforceError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(MAX_RECORDS_PER_REQUEST) {
            // Ids and names were validated (letters, digits, underscores): nothing to escape.
            let quoted: Vec<String> = chunk.iter().map(|id| format!("'{id}'")).collect();
            let soql = format!(
                "SELECT Id, {} FROM {object} WHERE Id IN ({})",
                fields.join(", "),
                quoted.join(",")
            );
            let mut next = Some(format!("/services/data/{}/query", self.api_version));
            let mut query = Some(soql);
            while let Some(path) = next.take() {
                let q = query.take();
                let response = self
                    .send(|token| {
                        let request = self.http.get(format!("{}{path}", token.instance_url));
                        match &q {
                            Some(q) => request.query(&[("q", q.as_str())]),
                            None => request,
                        }
                    })
                    .await?;
                let page: QueryPage = response
                    .json()
                    .await
                    .map_err(|e| SalesforceError::Decode(format!("query of {object}: {e}")))?;
                for record in page.records {
                    let id = record
                        .get("Id")
                        .and_then(Value::as_str)
                        .map(|id| id.chars().take(15).collect::<String>())
                        .unwrap_or_default();
                    let values = fields
                        .iter()
                        .map(|field| ((*field).to_owned(), field_text(&record, field)))
                        .collect();
                    found.insert(id, values);
                }
                next = page.next_records_url.filter(|_| !page.done);
            }
        }
        Ok(found)
    }

    /// Writes many records through sObject Collections, 200 per request, `allOrNone: false`:
    /// each record succeeds or fails on its own. Returns one result per update, in order. An
    /// error for a whole request (outage, limit, credentials) is returned as `Err`.
    pub async fn update_records(
        &self,
        updates: &[RecordUpdate],
    ) -> Result<Vec<Result<(), RecordFailure>>, SalesforceError> {
        let mut results = Vec::with_capacity(updates.len());
        for chunk in updates.chunks(MAX_RECORDS_PER_REQUEST) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|update| {
                    let mut record = Map::new();
                    record.insert("attributes".into(), json!({ "type": update.object }));
                    record.insert("id".into(), json!(update.record_id));
                    record.extend(update.values.clone());
                    Value::Object(record)
                })
                .collect();
            let body = json!({ "allOrNone": false, "records": records });
            let response = self
                .send(|token| {
                    self.http
                        .patch(format!(
                            "{}/services/data/{}/composite/sobjects",
                            token.instance_url, self.api_version
                        ))
                        .json(&body)
                })
                .await?;
            let outcomes: Vec<CollectionResult> = response
                .json()
                .await
                .map_err(|e| SalesforceError::Decode(format!("collection update: {e}")))?;
            // The answer lists the records in the order they were sent.
            for index in 0..chunk.len() {
                results.push(match outcomes.get(index) {
                    Some(outcome) if outcome.success => Ok(()),
                    Some(outcome) => Err(outcome.errors.first().map_or_else(
                        || RecordFailure::new("UNKNOWN", "no error given"),
                        |e| RecordFailure::new(&e.status_code, &e.message),
                    )),
                    None => Err(RecordFailure::new(
                        "MISSING_RESULT",
                        "Salesforce returned no result for this record",
                    )),
                });
            }
        }
        Ok(results)
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
