//! Stateful stand-ins for tests that need more than canned answers: wiremock responders over
//! the workspace's shared stand-ins (competitor-sync-stand-ins), a Gong that answers for the
//! calls given to it, and a Salesforce org that keeps Opportunity field values, picklists
//! and Competitors related lists.

use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Salesforce's data API for Opportunities and their Competitors related lists: sObject
/// Collections updates and creates (each may be scripted to fail), SOQL reads and describes,
/// of an org in which every Opportunity id exists. By default every Opportunity takes any
/// field ([`SalesforceRecords::standard`] checks as Salesforce does). Reads answer after
/// `read_delay`, which widens the window in which two unsynchronised merges would overwrite
/// each other.
#[derive(Clone)]
pub struct SalesforceRecords {
    pub org: Arc<Mutex<Org>>,
    /// Sent as `Sforce-Limit-Info` on every answer.
    pub limit_info: Arc<Mutex<Option<String>>>,
    pub read_delay: Duration,
    /// How long a collection update waits before it is answered (applied at once).
    pub write_delay: Duration,
    /// Create requests still to be applied but answered 503, as if the answer were lost.
    pub lost_create_answers: Arc<AtomicUsize>,
}

impl Default for SalesforceRecords {
    fn default() -> Self {
        Self::with(Org::open(Schema::Any))
    }
}

const DATA_PATH: &str = "/services/data/v62.0";

impl SalesforceRecords {
    fn with(org: Org) -> Self {
        Self {
            org: Arc::new(Mutex::new(org)),
            limit_info: Arc::default(),
            read_delay: Duration::ZERO,
            write_delay: Duration::ZERO,
            lost_create_answers: Arc::default(),
        }
    }

    /// An org in which every well-formed Opportunity id exists, with the standard schema: its
    /// field names, types, lengths and restricted picklists are checked on every write.
    pub fn standard() -> Self {
        Self::with(Org::open(Schema::Standard))
    }

    fn org(&self) -> MutexGuard<'_, Org> {
        self.org.lock().expect("lock")
    }

    /// Answers collection updates and creates, SOQL reads, and the describes of Opportunity
    /// and OpportunityCompetitor on `server`.
    pub async fn mount(&self, server: &MockServer) {
        let collections = format!("{DATA_PATH}/composite/sobjects");
        let routes = [
            ("PATCH", collections.clone()),
            ("POST", collections),
            ("GET", format!("{DATA_PATH}/query")),
            ("GET", format!("{DATA_PATH}/sobjects/Opportunity/describe")),
            (
                "GET",
                format!("{DATA_PATH}/sobjects/OpportunityCompetitor/describe"),
            ),
        ];
        for (verb, route) in routes {
            Mock::given(method(verb))
                .and(path(route))
                .respond_with(self.clone())
                .mount(server)
                .await;
        }
    }

    /// Makes `active` the active values of the Opportunity's picklist `field`, as an admin
    /// would; values left out stay listed as inactive.
    pub fn set_picklist(&self, field: &str, active: &[&str]) {
        self.org()
            .set_picklist(field, active)
            .expect("an Opportunity picklist field");
    }

    /// The text of any field of record `id` (numbers as their JSON text).
    pub fn field(&self, id: &str, field: &str) -> Option<String> {
        match self.org().value(id, field)? {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The Competitors related list of `opportunity_id`: each row's id, name and strengths.
    pub fn competitor_rows(&self, opportunity_id: &str) -> Vec<(String, String, Option<String>)> {
        self.org()
            .competitor_rows(opportunity_id)
            .into_iter()
            .map(|row| (row.id.clone(), row.name.clone(), row.strengths.clone()))
            .collect()
    }

    /// A row a person added to the Competitors related list; returns its id.
    pub fn add_competitor_row(
        &self,
        opportunity_id: &str,
        name: &str,
        strengths: Option<&str>,
    ) -> String {
        self.org()
            .add_competitor_row(opportunity_id, name, strengths)
    }

    /// Rows created through the API.
    pub fn rows_created(&self) -> usize {
        self.org().rows_created()
    }

    /// Rows updated or deleted through the API.
    pub fn row_updates(&self) -> usize {
        self.org().row_updates()
    }

    /// The next `times` creates of a row for `opportunity_id` fail with `code`.
    pub fn fail_create(&self, opportunity_id: &str, code: &str, times: usize) {
        let error = SfError::new(code.to_owned(), format!("{code} (scripted)"));
        self.org().fail_next_create(opportunity_id, error, times);
    }

    /// The next `times` create requests are applied but answered 503, as when the answer is
    /// lost on the way: the rows exist though the service was told nothing.
    pub fn lose_next_create_answers(&self, times: usize) {
        self.lost_create_answers.store(times, Ordering::SeqCst);
    }

    /// A create request's answer, unless it is one to lose.
    fn create(&self, body: &[u8]) -> ResponseTemplate {
        let answer = rest::create_collection(&mut self.org(), body, OffsetDateTime::now_utc());
        let lost = self
            .lost_create_answers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if lost {
            ResponseTemplate::new(503).set_body_json(json!([{
                "errorCode": "SERVER_UNAVAILABLE",
                "message": "Server temporarily unavailable (scripted: the rows were created)"
            }]))
        } else {
            template(answer)
        }
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
        let described = request
            .url
            .path()
            .strip_suffix("/describe")
            .and_then(|rest| rest.rsplit('/').next());
        let response = match (request.method.as_str(), described) {
            ("PATCH", _) => template(rest::update_collection(
                &mut self.org(),
                &request.body,
                OffsetDateTime::now_utc(),
            ))
            .set_delay(self.write_delay),
            ("POST", _) => self.create(&request.body),
            ("GET", Some(object)) => template(rest::describe(&self.org(), object)),
            ("GET", None) => {
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

/// The org stand-in over HTTP, as the service meets it: scripted create failures, a lost
/// answer whose rows exist anyway, and the standard schema's picklist check.
#[tokio::test]
async fn the_salesforce_stand_in_scripts_create_failures_and_lost_answers() {
    let server = MockServer::start().await;
    let records = SalesforceRecords::standard();
    records.mount(&server).await;
    let http = reqwest::Client::new();
    let collections = format!("{}{DATA_PATH}/composite/sobjects", server.uri());
    let opportunity = opportunity_for(1);
    let create = json!({"allOrNone": false, "records": [{
        "attributes": {"type": "OpportunityCompetitor"},
        "OpportunityId": opportunity, "CompetitorName": "Clari"
    }]});
    let post = || async {
        let response = http.post(&collections).json(&create).send().await;
        let response = response.expect("the stand-in answers");
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.expect("JSON"))
    };

    records.fail_create(&opportunity, "UNABLE_TO_LOCK_ROW", 1);
    let (status, refused) = post().await;
    assert_eq!(status, 200);
    assert_eq!(refused[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    records.lose_next_create_answers(1);
    let (status, lost) = post().await;
    assert_eq!(
        (status, &lost[0]["errorCode"]),
        (503, &json!("SERVER_UNAVAILABLE"))
    );
    assert_eq!(
        records.competitor_rows(&opportunity).len(),
        1,
        "created all the same"
    );
    let (status, created) = post().await;
    assert_eq!((status, &created[0]["success"]), (200, &json!(true)));
    assert_eq!((records.rows_created(), records.row_updates()), (2, 0));

    let update = json!({"records": [{"attributes": {"type": "Opportunity"},
                                      "id": opportunity, "Competitors__c": "Wingman"}]});
    let answer: Value = http
        .patch(&collections)
        .json(&update)
        .send()
        .await
        .expect("the stand-in answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        answer[0]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    records.set_picklist("Competitors__c", &["Wingman"]);
    let describe = format!("{}{DATA_PATH}/sobjects/Opportunity/describe", server.uri());
    let described: Value = http
        .get(describe)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let field = described["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|field| field["name"] == "Competitors__c")
        .expect("described");
    assert_eq!(field["picklistValues"][14]["active"], false, "XANT");
    assert_eq!(field["picklistValues"][15]["value"], "Wingman");
}
