//! The baseline: a naive one-request-per-call pipeline, as a hand-wired low-code flow would
//! be, for the benchmark to measure beside the service. For every webhook it answers 200 at
//! once and then, in a task of its own, makes exactly one Gong request for that call and one
//! Salesforce update per linked Opportunity: no batching, no retry, no queue. A 429 or any
//! other error loses the call.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::services::TOKEN;
use crate::upstreams;

/// Salesforce's REST API version the flow calls, as the service does.
const API_VERSION: &str = "v62.0";

/// Long enough for any answer of the local stand-ins; a flow's HTTP step has one too.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What became of the calls announced to the baseline.
#[derive(Default)]
pub struct Outcomes {
    /// Calls whose every linked Opportunity was written.
    pub written: AtomicU64,
    /// Calls lost to Gong's 429.
    pub lost_to_429: AtomicU64,
    /// Calls lost to any other error (of Gong or Salesforce).
    pub lost_to_errors: AtomicU64,
    /// Calls with no linked Opportunity or no competitor heard: nothing to write.
    pub nothing_to_write: AtomicU64,
}

impl Outcomes {
    /// Calls the baseline is done with, whatever became of them.
    pub fn settled(&self) -> u64 {
        [
            &self.written,
            &self.lost_to_429,
            &self.lost_to_errors,
            &self.nothing_to_write,
        ]
        .iter()
        .map(|counter| counter.load(Ordering::Acquire))
        .sum()
    }
}

/// The running baseline.
pub struct Baseline {
    /// Where it takes webhooks (`{url}/webhooks/gong`).
    pub url: String,
    pub outcomes: Arc<Outcomes>,
}

/// What every call's task needs.
struct Flow {
    http: reqwest::Client,
    gong_url: String,
    instance_url: String,
    access_token: String,
    outcomes: Arc<Outcomes>,
}

impl Baseline {
    /// Gets a Salesforce token from the stand-ins at `upstreams_url` (once, as a flow's
    /// connection would hold one), then takes webhooks on a free local port.
    pub async fn start(upstreams_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let (access_token, instance_url) = token(&http, upstreams_url).await?;
        let outcomes = Arc::new(Outcomes::default());
        let flow = Arc::new(Flow {
            http,
            gong_url: upstreams_url.trim_end_matches('/').to_owned(),
            instance_url: instance_url.trim_end_matches('/').to_owned(),
            access_token,
            outcomes: Arc::clone(&outcomes),
        });
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/webhooks/gong", post(webhook))
            .with_state(flow);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, outcomes })
    }
}

/// The client credentials grant, as the bench configures the service: the access token and
/// the instance URL.
async fn token(http: &reqwest::Client, login_url: &str) -> anyhow::Result<(String, String)> {
    let url = format!("{}/services/oauth2/token", login_url.trim_end_matches('/'));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", upstreams::SALESFORCE_CLIENT_ID),
        ("client_secret", upstreams::SALESFORCE_CLIENT_SECRET),
    ];
    let response = http.post(url).form(&form).send().await?;
    if !response.status().is_success() {
        bail!(
            "the Salesforce stand-in refused the token request: {}",
            response.status()
        );
    }
    let answer: Value = response.json().await?;
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("the token answer has no {name}"))
    };
    Ok((field("access_token")?, field("instance_url")?))
}

/// A webhook: the same bearer token the service takes, then 200 before any work, the call
/// handed to a task of its own.
async fn webhook(State(flow): State<Arc<Flow>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|token| token.trim() == TOKEN);
    if !authorised {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(webhook) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if webhook["isTest"] == true {
        return StatusCode::OK;
    }
    let Some(call_id) = webhook
        .pointer("/callData/metaData/id")
        .and_then(Value::as_str)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let call_id = call_id.to_owned();
    tokio::spawn(async move {
        let outcome = match sync_call(&flow, &call_id).await {
            Ok(true) => &flow.outcomes.written,
            Ok(false) => &flow.outcomes.nothing_to_write,
            Err(Lost::To429) => &flow.outcomes.lost_to_429,
            Err(Lost::ToError) => &flow.outcomes.lost_to_errors,
        };
        // Release: whoever reads `settled` then sees the stand-in's stamps of this call.
        outcome.fetch_add(1, Ordering::Release);
    });
    StatusCode::OK
}

/// Why a call was lost.
enum Lost {
    To429,
    ToError,
}

/// One Gong request for the call, then one update per linked Opportunity; whether anything
/// was written.
async fn sync_call(flow: &Flow, call_id: &str) -> Result<bool, Lost> {
    let request = json!({
        "filter": {"callIds": [call_id]},
        "contentSelector": {
            "context": "Extended",
            "exposedFields": {"content": {"trackers": true}}
        }
    });
    let response = flow
        .http
        .post(format!("{}/v2/calls/extensive", flow.gong_url))
        .basic_auth(
            upstreams::GONG_ACCESS_KEY,
            Some(upstreams::GONG_ACCESS_KEY_SECRET),
        )
        .json(&request)
        .send()
        .await
        .map_err(|_| Lost::ToError)?;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        return Err(Lost::To429);
    }
    if !response.status().is_success() {
        return Err(Lost::ToError);
    }
    let answer: Value = response.json().await.map_err(|_| Lost::ToError)?;
    let call = answer["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|call| call["metaData"]["id"] == call_id))
        .ok_or(Lost::ToError)?;
    let (opportunities, competitors) = (opportunities(call), competitors(call));
    if opportunities.is_empty() || competitors.is_empty() {
        return Ok(false);
    }
    let changes = json!({"Main_Competitors__c": competitors.join(", ")});
    for id in opportunities {
        update(flow, id, &changes).await?;
    }
    Ok(true)
}

/// `PATCH /sobjects/Opportunity/{id}` with the flow's one token.
async fn update(flow: &Flow, id: &str, changes: &Value) -> Result<(), Lost> {
    // The id goes into the path: only letters and digits, as Salesforce ids are.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Lost::ToError);
    }
    let url = format!(
        "{}/services/data/{API_VERSION}/sobjects/Opportunity/{id}",
        flow.instance_url
    );
    let response = flow
        .http
        .patch(url)
        .bearer_auth(&flow.access_token)
        .json(changes)
        .send()
        .await
        .map_err(|_| Lost::ToError)?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(Lost::ToError)
    }
}

/// The ids of the Salesforce Opportunities the call's Extended context links.
fn opportunities(call: &Value) -> Vec<&str> {
    let systems = call["context"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    systems
        .iter()
        .filter(|system| system["system"] == "Salesforce")
        .filter_map(|system| system["objects"].as_array())
        .flatten()
        .filter(|object| object["objectType"] == "Opportunity")
        .filter_map(|object| object["objectId"].as_str())
        .collect()
}

/// The phrases the call's `Competitors` tracker heard.
fn competitors(call: &Value) -> Vec<&str> {
    let trackers = call["content"]["trackers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    trackers
        .iter()
        .filter(|tracker| tracker["name"] == "Competitors")
        .filter_map(|tracker| tracker["phrases"].as_array())
        .flatten()
        .filter_map(|phrase| phrase["phrase"].as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use competitor_sync_stand_ins::synthetic;

    #[test]
    fn a_synthetic_call_yields_its_opportunity_and_competitors() {
        let call = synthetic::call(3, &synthetic::opportunity_id(3), &["Clari", "Chorus"]);
        assert_eq!(
            opportunities(&call),
            [synthetic::opportunity_id(3).as_str()]
        );
        assert_eq!(competitors(&call), ["Clari", "Chorus"]);
        assert!(opportunities(&json!({})).is_empty());
        assert!(competitors(&json!({"content": {"trackers": "none"}})).is_empty());
    }
}
