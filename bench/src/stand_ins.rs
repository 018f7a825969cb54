//! Local stand-ins for Gong and Salesforce that count every request. Gong enforces its
//! documented 3 requests per second with 429 and `Retry-After`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the stand-ins saw.
#[derive(Default)]
pub struct Counters {
    pub gong_requests: AtomicU64,
    pub gong_throttled: AtomicU64,
    pub salesforce_token: AtomicU64,
    pub salesforce_describe: AtomicU64,
    pub salesforce_query: AtomicU64,
    pub salesforce_update: AtomicU64,
    pub records_written: Mutex<HashMap<String, String>>,
    pub last_write: Mutex<Option<Instant>>,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> usize {
        self.records_written
            .lock()
            .map(|w| w.len())
            .unwrap_or_default()
    }
}

/// The Opportunity linked to benchmark call `call_id`.
pub fn opportunity_for(call_id: &str) -> String {
    let digits: String = call_id
        .chars()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("006{digits:0>15}")
}

#[derive(Clone)]
struct GongState {
    counters: Arc<Counters>,
    /// Arrival times of the last accepted requests, for the 3-per-second window.
    window: Arc<Mutex<VecDeque<Instant>>>,
}

pub fn gong(counters: Arc<Counters>) -> Router {
    let state = GongState {
        counters,
        window: Arc::new(Mutex::new(VecDeque::new())),
    };
    Router::new()
        .route("/v2/calls/extensive", post(gong_calls))
        .with_state(state)
}

async fn gong_calls(
    State(state): State<GongState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    state.counters.gong_requests.fetch_add(1, Ordering::Relaxed);
    if !headers.contains_key("authorization") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": ["missing credentials"]})),
        )
            .into_response();
    }
    {
        let Ok(mut window) = state.window.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() >= 3 {
            state
                .counters
                .gong_throttled
                .fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                Json(json!({"errors": ["Too many requests"]})),
            )
                .into_response();
        }
        window.push_back(now);
    }
    let calls: Vec<Value> = body["filter"]["callIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|id| {
            json!({
                "metaData": {"id": id, "title": "Benchmark call"},
                "context": [{"system": "Salesforce", "objects": [
                    {"objectType": "Opportunity", "objectId": opportunity_for(id), "fields": []}
                ]}],
                "content": {"trackers": [{"name": "Competitors", "type": "KEYWORD", "phrases": [
                    {"phrase": "Clari", "count": 2}, {"phrase": "Chorus", "count": 1}
                ]}]}
            })
        })
        .collect();
    Json(json!({
        "requestId": "bench",
        "records": {"totalRecords": calls.len(), "currentPageSize": calls.len(), "currentPageNumber": 0},
        "calls": calls
    }))
    .into_response()
}

pub fn salesforce(counters: Arc<Counters>, base_url: String) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route(
            "/services/data/v62.0/sobjects/Opportunity/describe",
            get(describe),
        )
        .route("/services/data/v62.0/composite/sobjects", patch(update))
        .route("/services/data/v62.0/query", get(query))
        .with_state((counters, base_url))
}

type SfState = State<(Arc<Counters>, String)>;

fn usage(counters: &Counters) -> String {
    let used = Counters::get(&counters.salesforce_describe)
        + Counters::get(&counters.salesforce_query)
        + Counters::get(&counters.salesforce_update);
    format!("api-usage={used}/100000")
}

async fn token(State((counters, base_url)): SfState) -> Response {
    counters.salesforce_token.fetch_add(1, Ordering::Relaxed);
    Json(json!({
        "access_token": "00DBENCH!token", "instance_url": base_url,
        "id": "https://login.salesforce.com/id/00D/005", "token_type": "Bearer",
        "issued_at": "1763912345678", "signature": "x"
    }))
    .into_response()
}

async fn describe(State((counters, _)): SfState) -> Response {
    counters.salesforce_describe.fetch_add(1, Ordering::Relaxed);
    (
        [("sforce-limit-info", usage(&counters))],
        Json(json!({"name": "Opportunity", "fields": [
            {"name": "Main_Competitors__c", "type": "string", "length": 255, "updateable": true}
        ]})),
    )
        .into_response()
}

async fn update(State((counters, _)): SfState, Json(body): Json<Value>) -> Response {
    counters.salesforce_update.fetch_add(1, Ordering::Relaxed);
    let mut results = Vec::new();
    if let Ok(mut written) = counters.records_written.lock() {
        for record in body["records"].as_array().into_iter().flatten() {
            let id = record["id"].as_str().unwrap_or_default().to_owned();
            let value = record["Main_Competitors__c"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            written.insert(id.clone(), value);
            results.push(json!({"id": id, "success": true, "errors": []}));
        }
    }
    if let Ok(mut last) = counters.last_write.lock() {
        *last = Some(Instant::now());
    }
    ([("sforce-limit-info", usage(&counters))], Json(results)).into_response()
}

async fn query(
    State((counters, _)): SfState,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    counters.salesforce_query.fetch_add(1, Ordering::Relaxed);
    let soql = params.get("q").cloned().unwrap_or_default();
    let written = counters
        .records_written
        .lock()
        .map(|w| w.clone())
        .unwrap_or_default();
    let records: Vec<Value> = soql
        .split_once("IN (")
        .map(|(_, ids)| ids.trim_end_matches(')'))
        .unwrap_or_default()
        .split(',')
        .map(|id| id.trim().trim_matches('\''))
        .filter(|id| !id.is_empty())
        .map(|id| json!({"Id": id, "Main_Competitors__c": written.get(id)}))
        .collect();
    (
        [("sforce-limit-info", usage(&counters))],
        Json(json!({"totalSize": records.len(), "done": true, "records": records})),
    )
        .into_response()
}
