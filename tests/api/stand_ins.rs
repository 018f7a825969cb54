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
}

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

/// Keeps `Main_Competitors__c` per Opportunity: GET reads it, PATCH sets it. Reads answer
/// after `read_delay`, which widens the window in which two unsynchronised merges would
/// overwrite each other.
#[derive(Clone, Default)]
pub struct SalesforceRecords {
    pub values: Arc<Mutex<HashMap<String, String>>>,
    pub patches: Arc<Mutex<Vec<(String, String)>>>,
    pub read_delay: Duration,
}

impl SalesforceRecords {
    pub fn value(&self, id: &str) -> Option<String> {
        self.values.lock().expect("lock").get(id).cloned()
    }

    pub fn patch_count(&self) -> usize {
        self.patches.lock().expect("lock").len()
    }
}

impl Respond for SalesforceRecords {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        match request.method.as_str() {
            "GET" => {
                let value = self.value(&id);
                ResponseTemplate::new(200)
                    .set_body_json(json!({"Id": id, "Main_Competitors__c": value}))
                    .set_delay(self.read_delay)
            }
            "PATCH" => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let value = body["Main_Competitors__c"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                self.values
                    .lock()
                    .expect("lock")
                    .insert(id.clone(), value.clone());
                self.patches.lock().expect("lock").push((id, value));
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(405),
        }
    }
}
