//! Stateful stand-ins for tests that need more than canned answers: a Gong that answers for
//! any call id, and a Salesforce that keeps Opportunity field values.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

use crate::helpers::fixture;

/// The Opportunity id linked to synthetic call `n`.
pub fn opportunity_for(n: u32) -> String {
    format!("0063t{n:013}")
}

pub fn call_id_for(n: u32) -> String {
    format!("{}", 9_000_000_000_000u64 + u64::from(n))
}

/// `callData` for synthetic call `n`, linked to `opportunity` and hearing `competitors`.
pub fn synthetic_call(n: u32, opportunity: &str, competitors: &[&str]) -> Value {
    let mut call = fixture("gong_webhook.json")["callData"].clone();
    call["metaData"]["id"] = json!(call_id_for(n));
    call["context"] = json!([{"system": "Salesforce", "objects": [
        {"objectType": "Opportunity", "objectId": opportunity, "fields": []}
    ]}]);
    call["content"]["trackers"] = json!([{
        "name": "Competitors", "type": "KEYWORD",
        "phrases": competitors.iter().map(|c| json!({"phrase": c, "count": 1})).collect::<Vec<_>>()
    }]);
    call
}

pub fn webhook_for(call: &Value) -> Value {
    json!({"isTest": false, "callData": call})
}

/// Answers `/v2/calls/extensive` with the registered call for each requested id, after
/// `delay`.
#[derive(Clone, Default)]
pub struct GongCalls {
    pub calls: Arc<Mutex<HashMap<String, Value>>>,
    pub delay: Duration,
    /// When each request arrived, and the ids it asked for.
    pub requests: Arc<Mutex<Vec<GongRequest>>>,
}

/// When a request arrived, and the call ids it asked for.
pub type GongRequest = (std::time::Instant, Vec<String>);

/// Per record id, the (error code, message) pairs still to answer, last first.
type ScriptedFailures = HashMap<String, Vec<(String, String)>>;

impl GongCalls {
    pub fn add(&self, call: &Value) {
        let id = call["metaData"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.calls.lock().expect("lock").insert(id, call.clone());
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
            .push((std::time::Instant::now(), asked));
        let calls = self.calls.lock().expect("lock");
        let found: Vec<Value> = body["filter"]["callIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| calls.get(id.as_str()?).cloned())
            .collect();
        if found.is_empty() {
            return ResponseTemplate::new(404).set_body_json(fixture("gong_error_404.json"));
        }
        ResponseTemplate::new(200).set_delay(self.delay).set_body_json(json!({
            "requestId": "stand-in",
            "records": {"totalRecords": found.len(), "currentPageSize": found.len(), "currentPageNumber": 0},
            "calls": found
        }))
    }
}

/// Salesforce's data API for Opportunities: sObject Collections updates (each record may be
/// scripted to fail) and SOQL `WHERE Id IN (...)` reads of `Main_Competitors__c`. Reads
/// answer after `read_delay`, which widens the window in which two unsynchronised merges
/// would overwrite each other.
#[derive(Clone, Default)]
pub struct SalesforceRecords {
    pub values: Arc<Mutex<HashMap<String, String>>>,
    /// Every record written, in order: (id, Main_Competitors__c).
    pub patches: Arc<Mutex<Vec<(String, String)>>>,
    /// Errors to answer for a record, one per write attempt, before it succeeds.
    pub failures: Arc<Mutex<ScriptedFailures>>,
    /// Sent as `Sforce-Limit-Info` on every answer.
    pub limit_info: Arc<Mutex<Option<String>>>,
    pub read_delay: Duration,
}

impl SalesforceRecords {
    /// Gives record `id` a current `Main_Competitors__c` value.
    pub fn seed(&self, id: &str, value: &str) {
        self.values
            .lock()
            .expect("lock")
            .insert(id.to_owned(), value.to_owned());
    }

    pub fn value(&self, id: &str) -> Option<String> {
        self.values.lock().expect("lock").get(id).cloned()
    }

    pub fn patch_count(&self) -> usize {
        self.patches.lock().expect("lock").len()
    }

    /// The next `times` writes of `id` fail with `code`.
    pub fn fail(&self, id: &str, code: &str, times: usize) {
        let entry = (code.to_owned(), format!("{code} (scripted)"));
        self.failures
            .lock()
            .expect("lock")
            .insert(id.to_owned(), vec![entry; times]);
    }

    fn update(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut results = Vec::new();
        for record in body["records"].as_array().into_iter().flatten() {
            let id = record["id"].as_str().unwrap_or_default().to_owned();
            let failure = self
                .failures
                .lock()
                .expect("lock")
                .get_mut(&id)
                .and_then(Vec::pop);
            if let Some((code, message)) = failure {
                results.push(json!({"id": id, "success": false, "errors": [
                    {"statusCode": code, "message": message, "fields": []}
                ]}));
                continue;
            }
            let value = record["Main_Competitors__c"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            self.values
                .lock()
                .expect("lock")
                .insert(id.clone(), value.clone());
            self.patches.lock().expect("lock").push((id.clone(), value));
            results.push(json!({"id": id, "success": true, "errors": []}));
        }
        ResponseTemplate::new(200).set_body_json(results)
    }

    fn query(&self, request: &Request) -> ResponseTemplate {
        let soql = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let ids = soql
            .split_once("IN (")
            .map(|(_, rest)| rest.trim_end_matches(')'))
            .unwrap_or_default();
        let records: Vec<Value> = ids
            .split(',')
            .map(|id| id.trim().trim_matches('\''))
            .filter(|id| !id.is_empty())
            .map(|id| {
                json!({
                    "attributes": {"type": "Opportunity"},
                    "Id": id,
                    "Main_Competitors__c": self.value(id)
                })
            })
            .collect();
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalSize": records.len(), "done": true, "records": records}))
            .set_delay(self.read_delay)
    }
}

impl Respond for SalesforceRecords {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let response = match request.method.as_str() {
            "PATCH" => self.update(request),
            "GET" => self.query(request),
            _ => ResponseTemplate::new(405),
        };
        match self.limit_info.lock().expect("lock").clone() {
            Some(info) => response.insert_header("sforce-limit-info", info.as_str()),
            None => response,
        }
    }
}
