//! Gong API client: fetches a call's extended data with its trackers.

mod limiter;
mod listing;
pub mod types;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::config::GongSettings;
use crate::retry::{Classify, Disposition};
use crate::shared::SharedLimits;
use crate::sync;
use crate::upstream;
use limiter::GongLimiter;
pub use limiter::SHARED_ALLOWANCE;
pub use listing::{CallListing, Listed, ListedPage};
use types::{CallsPage, ErrorBody};

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
    access_key: SecretString,
    access_key_secret: SecretString,
    limiter: GongLimiter,
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
            access_key: settings.credentials.access_key.clone(),
            access_key_secret: settings.credentials.access_key_secret.clone(),
            limiter: GongLimiter::new(settings.requests_per_second, settings.daily_limit),
        }
    }

    /// Shares the rate limits with every process using `shared` (see [`GongLimiter`]).
    pub fn sharing_limits_through(mut self, shared: Arc<dyn SharedLimits>) -> Self {
        self.limiter = self.limiter.shared_through(shared);
        self
    }

    /// The calls with their Extended CRM context and trackers: one request per `per_request`
    /// ids (at most 100) and per page of the answer, each through the shared rate limit.
    pub async fn fetch_calls(
        &self,
        call_ids: &[String],
        per_request: usize,
    ) -> Result<CallBatch, GongError> {
        let mut batch = CallBatch::default();
        let per_request = per_request.clamp(1, MAX_CALLS_PER_REQUEST);
        for chunk in call_ids.chunks(per_request) {
            let mut cursor: Option<String> = None;
            loop {
                let mut body = json!({
                    "filter": { "callIds": chunk },
                    "contentSelector": {
                        "context": "Extended",
                        "exposedFields": { "content": { "trackers": true } }
                    }
                });
                if let Some(cursor) = &cursor {
                    body["cursor"] = json!(cursor);
                }
                match self.post(&body).await? {
                    Some(page) => {
                        for call in page.calls {
                            batch.calls.insert(call.meta_data.id.clone(), call.into());
                        }
                        cursor = page
                            .records
                            .and_then(|r| r.cursor)
                            .filter(|c| !c.is_empty());
                    }
                    None => {
                        batch.not_found.extend(chunk.iter().cloned());
                        cursor = None;
                    }
                }
                if cursor.is_none() {
                    break;
                }
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

    /// One request; `None` when Gong answers 404 (no call matches the filter).
    async fn post(&self, body: &serde_json::Value) -> Result<Option<CallsPage>, GongError> {
        self.limiter.acquire().await;
        let request = self
            .http
            .post(&self.calls_url)
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
mod tests {
    use std::num::NonZeroU32;

    use serde_json::Value;
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::config::GongCredentials;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
    }

    fn client(server: &MockServer) -> GongClient {
        client_at(server, 100)
    }

    fn client_at(server: &MockServer, requests_per_second: u32) -> GongClient {
        let settings = GongSettings {
            base_url: server.uri(),
            credentials: GongCredentials {
                access_key: SecretString::from("key"),
                access_key_secret: SecretString::from("secret"),
            },
            request_timeout: Duration::from_secs(5),
            requests_per_second: NonZeroU32::new(requests_per_second).expect("non-zero"),
            daily_limit: NonZeroU32::new(10_000).expect("non-zero"),
            batch_size: 100,
        };
        GongClient::new(&settings, reqwest::Client::new())
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn pages_are_followed_through_the_cursor() {
        let server = MockServer::start().await;
        let first = fixture("gong_calls_extensive_page_with_cursor.json");
        let cursor = first["records"]["cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        let mut second = fixture("gong_calls_extensive_one.json");
        second["calls"][0]["metaData"]["id"] = json!("7782342274025937897");
        Mock::given(method("POST"))
            .and(path("/v2/calls/extensive"))
            .and(body_partial_json(json!({ "cursor": cursor })))
            .respond_with(ResponseTemplate::new(200).set_body_json(second))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/calls/extensive"))
            .respond_with(ResponseTemplate::new(200).set_body_json(first))
            .expect(1)
            .mount(&server)
            .await;
        let wanted = ids(&[
            "7782342274025937895",
            "7782342274025937896",
            "7782342274025937897",
        ]);
        let batch = client(&server)
            .fetch_calls(&wanted, 100)
            .await
            .expect("fetched");
        let mut found: Vec<&String> = batch.calls.keys().collect();
        found.sort();
        assert_eq!(found, wanted.iter().collect::<Vec<_>>());
        let requests = server.received_requests().await.unwrap_or_default();
        let second_body: Value = serde_json::from_slice(&requests[1].body).expect("JSON");
        assert_eq!(
            second_body["filter"]["callIds"],
            json!(wanted),
            "same filter on every page"
        );
        // The call without context still parses, with an empty context.
        assert!(batch.calls["7782342274025937896"].context.is_empty());
    }

    #[tokio::test]
    async fn ids_are_sent_in_chunks_of_the_batch_size() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"calls": []})))
            .expect(3)
            .mount(&server)
            .await;
        let wanted: Vec<String> = (0..5).map(|n| n.to_string()).collect();
        let batch = client(&server)
            .fetch_calls(&wanted, 2)
            .await
            .expect("fetched");
        assert!(batch.calls.is_empty());
        assert!(
            batch.not_found.is_empty(),
            "absent from a 200 is not 'not found'"
        );
    }

    #[tokio::test]
    async fn a_404_marks_every_id_of_the_request_not_found() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json")))
            .mount(&server)
            .await;
        let wanted = ids(&["1", "2"]);
        let batch = client(&server)
            .fetch_calls(&wanted, 100)
            .await
            .expect("a 404 is an answer");
        assert_eq!(batch.not_found.len(), 2);
    }

    /// Answers 429 (`Retry-After: 1`) to the first request and an empty page after, noting
    /// when each request arrived.
    #[derive(Clone, Default)]
    struct LimitedOnce {
        arrivals: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
    }

    impl wiremock::Respond for LimitedOnce {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            let mut arrivals = self.arrivals.lock().expect("lock");
            arrivals.push(std::time::Instant::now());
            if arrivals.len() == 1 {
                ResponseTemplate::new(429).insert_header("retry-after", "1")
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"calls": []}))
            }
        }
    }

    #[tokio::test]
    async fn a_429_holds_requests_that_had_already_taken_their_slot() {
        let server = MockServer::start().await;
        let gong_answers = LimitedOnce::default();
        Mock::given(method("POST"))
            .respond_with(gong_answers.clone())
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/store.db", dir.path().display());
        let store = crate::store::Store::connect(&url).await.expect("store");
        let gong =
            std::sync::Arc::new(client_at(&server, 10).sharing_limits_through(Arc::new(store)));
        // Four requests at once: three wait for their slots while the first meets the 429.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..4 {
            let gong = std::sync::Arc::clone(&gong);
            tasks.spawn(async move { gong.fetch_calls(&ids(&[&n.to_string()]), 100).await });
        }
        while tasks.join_next().await.is_some() {}
        let arrivals = gong_answers.arrivals.lock().expect("lock").clone();
        assert_eq!(arrivals.len(), 4);
        for later in &arrivals[1..] {
            assert!(
                *later - arrivals[0] >= Duration::from_millis(950),
                "a request went out within the 429's hold: {:?}",
                arrivals
                    .iter()
                    .map(|a| *a - arrivals[0])
                    .collect::<Vec<_>>()
            );
        }
    }

    #[tokio::test]
    async fn errors_are_classified() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errors": ["bad"]})))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
            .mount(&server)
            .await;
        let gong = client(&server);
        let wanted = ids(&["1"]);
        let limited = gong.fetch_calls(&wanted, 100).await.expect_err("429");
        assert_eq!(
            limited.disposition(),
            Disposition::Defer {
                after: Duration::from_secs(1)
            }
        );
        let unauthorized = gong.fetch_calls(&wanted, 100).await.expect_err("401");
        assert_eq!(unauthorized.disposition(), Disposition::Permanent);
        assert!(
            unauthorized.to_string().contains("us-NNNNN"),
            "{unauthorized}"
        );
        let outage = gong.fetch_calls(&wanted, 100).await.expect_err("502");
        assert_eq!(outage.disposition(), Disposition::Retry { after: None });
        assert!(outage.to_string().contains("bad gateway"), "{outage}");
    }
}
