//! Gong API client: fetches a call's extended data with its trackers.

mod limiter;
mod listing;
mod transcripts;
pub mod types;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::sync::watch;

use crate::config::GongSettings;
use crate::retry::{Classify, Disposition};
use crate::shared::SharedLimits;
use crate::sync;
use crate::upstream;
use limiter::GongLimiter;
pub use limiter::SHARED_ALLOWANCE;
pub use listing::{CallListing, Listed, ListedPage};
use types::{CallsPage, ErrorBody, Paged};

#[derive(Debug, Clone, thiserror::Error)]
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
    #[error("Gong did not return call {call_id}; it may not be available yet")]
    CallMissing { call_id: String },
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
            Self::Transport(_) | Self::Decode(_) | Self::CallMissing { .. } => {
                Disposition::Retry { after: None }
            }
            // Gong's quota, not the job, is the problem: wait as told, keep the attempts.
            Self::RateLimited { retry_after } => Disposition::Defer {
                after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            Self::Upstream { status, .. } if *status >= 500 => Disposition::Retry { after: None },
            Self::Unauthorized | Self::CallNotFound { .. } | Self::Upstream { .. } => {
                Disposition::Permanent
            }
        }
    }
}

use crate::config::MAX_CALLS_PER_REQUEST;

/// What of a call to ask Gong for, beyond its context and trackers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallParts {
    /// The parties (each speaker's side), for rules that count only one side's mentions.
    pub parties: bool,
    /// Each tracker phrase's occurrences (who said it), for tracker rules that count only
    /// one side's mentions.
    pub occurrences: bool,
    /// The transcripts (`/v2/calls/transcript`), for rules that read them.
    pub transcripts: bool,
}

impl CallParts {
    /// `contentSelector.exposedFields`: occurrences only together with trackers, as Gong
    /// requires; nothing beyond what a rule needs.
    fn exposed_fields(self) -> serde_json::Value {
        let mut fields = json!({ "content": { "trackers": true } });
        if self.occurrences {
            fields["content"]["trackerOccurrences"] = json!(true);
        }
        if self.parties {
            fields["parties"] = json!(true);
        }
        fields
    }
}

/// The pages of one paged request: those answered, and whether Gong answered 404 (no call
/// matches) before the last.
struct Pages<T> {
    answered: Vec<T>,
    not_found: bool,
}

/// What Gong returned for a set of call ids.
#[derive(Debug, Default)]
pub struct CallBatch {
    pub calls: HashMap<String, sync::Call>,
    /// Ids of a request Gong answered 404 to: it holds none of them. An id that is merely
    /// absent from a 200 answer is not in here.
    pub not_found: HashSet<String>,
}

pub struct GongClient {
    http: reqwest::Client,
    calls_url: String,
    transcripts_url: String,
    access_key: SecretString,
    access_key_secret: SecretString,
    limiter: GongLimiter,
    /// Call fetches of this process in flight: while one is, new jobs gather for the next.
    fetches: watch::Sender<usize>,
}

/// When a new batch could have its calls fetched without waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// No fetch in flight and the allowance's next slot due: a lone call goes at once.
    Now,
    /// The next slot comes in this long.
    In(Duration),
    /// A fetch is in flight: [`GongClient::watch_fetches`] says when it ends.
    AfterFetch,
}

/// Counts one fetch in flight for as long as it lives. Only the end of the last fetch in
/// flight wakes the watchers: that is when a gathering batch may leave.
struct InFlight<'a>(&'a watch::Sender<usize>);

impl<'a> InFlight<'a> {
    fn start(fetches: &'a watch::Sender<usize>) -> Self {
        fetches.send_if_modified(|n| {
            *n += 1;
            false
        });
        Self(fetches)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.send_if_modified(|n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

impl std::fmt::Debug for GongClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GongClient")
            .field("calls_url", &self.calls_url)
            .finish_non_exhaustive()
    }
}

impl GongClient {
    pub fn new(settings: &GongSettings, http: reqwest::Client) -> Self {
        Self {
            http,
            calls_url: format!(
                "{}/v2/calls/extensive",
                settings.base_url.trim_end_matches('/')
            ),
            transcripts_url: format!(
                "{}/v2/calls/transcript",
                settings.base_url.trim_end_matches('/')
            ),
            access_key: settings.credentials.access_key.clone(),
            access_key_secret: settings.credentials.access_key_secret.clone(),
            limiter: GongLimiter::new(settings.requests_per_second, settings.daily_limit),
            fetches: watch::Sender::new(0),
        }
    }

    /// Whether a batch claimed now would have its calls fetched at once: batching pays only
    /// while a fetch is in flight or the next slot is not yet due.
    pub fn readiness(&self) -> Readiness {
        if *self.fetches.borrow() > 0 {
            return Readiness::AfterFetch;
        }
        match self.limiter.next_slot_in() {
            Duration::ZERO => Readiness::Now,
            wait => Readiness::In(wait),
        }
    }

    /// Changes whenever the last call fetch of this process in flight ends.
    pub fn watch_fetches(&self) -> watch::Receiver<usize> {
        self.fetches.subscribe()
    }

    /// Shares the rate limits with every process using `shared` (see [`GongLimiter`]).
    pub fn sharing_limits_through(mut self, shared: Arc<dyn SharedLimits>) -> Self {
        self.limiter = self.limiter.shared_through(shared);
        self
    }

    /// The calls with their Extended CRM context and trackers, and what `parts` asks for
    /// besides: one request per `per_request` ids (at most 100) and per page of the answer,
    /// each through the shared rate limit, and as many for the transcripts when asked.
    pub async fn fetch_calls(
        &self,
        call_ids: &[String],
        per_request: usize,
        parts: CallParts,
    ) -> Result<CallBatch, GongError> {
        let _in_flight = InFlight::start(&self.fetches);
        let mut batch = CallBatch::default();
        let per_request = per_request.clamp(1, MAX_CALLS_PER_REQUEST);
        for chunk in call_ids.chunks(per_request) {
            let body = json!({
                "filter": { "callIds": chunk },
                "contentSelector": {
                    "context": "Extended",
                    "exposedFields": parts.exposed_fields()
                }
            });
            let pages = self.pages::<CallsPage>(&self.calls_url, body).await?;
            for call in pages.answered.into_iter().flat_map(|page| page.calls) {
                batch.calls.insert(call.meta_data.id.clone(), call.into());
            }
            if pages.not_found {
                batch.not_found.extend(chunk.iter().cloned());
            }
        }
        if parts.transcripts {
            let found: Vec<String> = call_ids
                .iter()
                .filter(|id| batch.calls.contains_key(*id))
                .cloned()
                .collect();
            let mut transcripts = self.fetch_transcripts(&found, per_request).await?;
            for (id, call) in &mut batch.calls {
                call.transcript = transcripts.remove(id);
            }
        }
        Ok(batch)
    }

    /// Proves the credentials and host with the cheapest authenticated request: calls of the
    /// last minute (usually none: Gong then answers 404, which is fine).
    pub async fn check_credentials(&self) -> Result<(), GongError> {
        let now = time::OffsetDateTime::now_utc();
        let format = &time::format_description::well_known::Rfc3339;
        let from = (now - time::Duration::minutes(1))
            .format(format)
            .map_err(|e| GongError::Decode(e.to_string()))?;
        let to = now
            .format(format)
            .map_err(|e| GongError::Decode(e.to_string()))?;
        let body = json!({ "filter": { "fromDateTime": from, "toDateTime": to } });
        self.post(&body).await.map(|_| ())
    }

    /// One `/v2/calls/extensive` request; `None` when Gong answers 404 (no call matches).
    async fn post(&self, body: &serde_json::Value) -> Result<Option<CallsPage>, GongError> {
        self.post_to(&self.calls_url, body).await
    }

    /// Every page Gong answers for `body` at `url`, following `records.cursor` with the same
    /// body; a 404 ends the pages.
    async fn pages<T: serde::de::DeserializeOwned + Paged>(
        &self,
        url: &str,
        mut body: serde_json::Value,
    ) -> Result<Pages<T>, GongError> {
        let mut answered = Vec::new();
        loop {
            let Some(page) = self.post_to::<T>(url, &body).await? else {
                return Ok(Pages {
                    answered,
                    not_found: true,
                });
            };
            let cursor = page.next_cursor();
            answered.push(page);
            match cursor {
                Some(cursor) => body["cursor"] = json!(cursor),
                None => {
                    return Ok(Pages {
                        answered,
                        not_found: false,
                    })
                }
            }
        }
    }

    /// One request to `url`, through the shared rate limit; `None` on 404.
    async fn post_to<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Option<T>, GongError> {
        self.limiter.acquire().await;
        let request = self
            .http
            .post(url)
            .basic_auth(
                self.access_key.expose_secret(),
                Some(self.access_key_secret.expose_secret()),
            )
            .json(body);
        let response = upstream::send_counted("gong", request)
            .await
            .map_err(GongError::Transport)?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| GongError::Transport(upstream::transport_error(e)))?;
        match status {
            s if s.is_success() => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| GongError::Decode(e.to_string())),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED => Err(GongError::Unauthorized),
            StatusCode::TOO_MANY_REQUESTS => {
                self.limiter.back_off(retry_after).await;
                Err(GongError::RateLimited { retry_after })
            }
            s => Err(GongError::Upstream {
                status: s.as_u16(),
                message: error_message(&text),
            }),
        }
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
        _ => upstream::excerpt(body),
    }
}

#[cfg(test)]
mod tests;
