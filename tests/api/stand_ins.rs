//! Stateful stand-ins for tests that need more than canned answers: wiremock responders over
//! the workspace's shared stand-ins (competitor-sync-stand-ins), a Gong that answers for the
//! calls given to it, and a Salesforce org that keeps Opportunity field values.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use competitor_sync_stand_ins::gong::Calls;
use competitor_sync_stand_ins::salesforce::{rest, Org, Schema, SfError};
use competitor_sync_stand_ins::seed::MAIN_COMPETITORS;
use competitor_sync_stand_ins::{synthetic, Answer};
use serde_json::{json, Value};
use time::OffsetDateTime;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub use competitor_sync_stand_ins::synthetic::webhook as webhook_for;

/// The Opportunity id linked to synthetic call `n`.
pub fn opportunity_for(n: u32) -> String {
    synthetic::opportunity_id(n.into())
}

pub fn call_id_for(n: u32) -> String {
    synthetic::call_id(n.into())
}

/// `callData` for synthetic call `n`, linked to `opportunity` and hearing `competitors`.
pub fn synthetic_call(n: u32, opportunity: &str, competitors: &[&str]) -> Value {
    synthetic::call(n.into(), opportunity, competitors)
}

fn template(answer: Answer) -> ResponseTemplate {
    ResponseTemplate::new(answer.status.as_u16()).set_body_json(answer.body)
}

/// Answers `/v2/calls/extensive` with the added calls the request asks for (Gong's 404 when
/// it asks for none of them), found ones after `delay`, and `/v2/calls/transcript` with
/// their transcripts (an added call's `transcript` key).
#[derive(Clone, Default)]
pub struct GongCalls {
    pub calls: Arc<Mutex<Calls>>,
    pub delay: Duration,
    /// When each request arrived, and the ids it asked for.
    pub requests: Arc<Mutex<Vec<GongRequest>>>,
}

/// When a request arrived, and the call ids it asked for.
pub type GongRequest = (Instant, Vec<String>);

impl GongCalls {
    pub fn add(&self, call: &Value) {
        self.calls.lock().expect("lock").add(call.clone());
    }

    /// Answers both of Gong's call endpoints on `server`.
    pub async fn mount(&self, server: &MockServer) {
        for endpoint in ["/v2/calls/extensive", "/v2/calls/transcript"] {
            Mock::given(method("POST"))
                .and(path(endpoint))
                .respond_with(self.clone())
                .mount(server)
                .await;
        }
    }
}

impl Respond for GongCalls {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let asked: Vec<String> = body["filter"]["callIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        self.requests
            .lock()
            .expect("lock")
            .push((Instant::now(), asked));
        let calls = self.calls.lock().expect("lock");
        let answer = if request.url.path().ends_with("/transcript") {
            calls.respond_transcripts(&request.body)
        } else {
            calls.respond(&request.body)
        };
        drop(calls);
        let found = answer.status.is_success();
        let response = template(answer);
        if found {
            response.set_delay(self.delay)
        } else {
            response
        }
    }
}

/// Salesforce's data API for Opportunities: sObject Collections updates (each record may be
/// scripted to fail) and SOQL reads, of an org in which every Opportunity id exists and takes
/// any field. Reads answer after `read_delay`, which widens the window in which two
/// unsynchronised merges would overwrite each other.
#[derive(Clone)]
pub struct SalesforceRecords {
    pub org: Arc<Mutex<Org>>,
    /// Sent as `Sforce-Limit-Info` on every answer.
    pub limit_info: Arc<Mutex<Option<String>>>,
    pub read_delay: Duration,
}

impl Default for SalesforceRecords {
    fn default() -> Self {
        Self {
            org: Arc::new(Mutex::new(Org::open(Schema::Any))),
            limit_info: Arc::default(),
            read_delay: Duration::ZERO,
        }
    }
}

impl SalesforceRecords {
    fn org(&self) -> MutexGuard<'_, Org> {
        self.org.lock().expect("lock")
    }

    /// Gives record `id` a current `Main_Competitors__c` value.
    pub fn seed(&self, id: &str, value: &str) {
        self.org()
            .set(id, MAIN_COMPETITORS, json!(value))
            .expect("a Salesforce id");
    }

    pub fn value(&self, id: &str) -> Option<String> {
        self.org()
            .value(id, MAIN_COMPETITORS)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Record writes that succeeded.
    pub fn patch_count(&self) -> usize {
        self.org().writes()
    }

    /// Records written at least once.
    pub fn written(&self) -> usize {
        self.org().written()
    }

    /// The next `times` writes of `id` fail with `code`.
    pub fn fail(&self, id: &str, code: &str, times: usize) {
        let error = SfError::new(code.to_owned(), format!("{code} (scripted)"));
        self.org().fail_next(id, error, times);
    }
}

impl Respond for SalesforceRecords {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let response = match request.method.as_str() {
            "PATCH" => template(rest::update_collection(
                &mut self.org(),
                &request.body,
                OffsetDateTime::now_utc(),
            )),
            "GET" => {
                let q = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "q")
                    .map(|(_, v)| v.into_owned());
                template(rest::query(&self.org(), q.as_deref())).set_delay(self.read_delay)
            }
            _ => ResponseTemplate::new(405),
        };
        match self.limit_info.lock().expect("lock").clone() {
            Some(info) => response.insert_header("sforce-limit-info", info.as_str()),
            None => response,
        }
    }
}
