//! Gong and Salesforce for the benchmark: the shared stand-ins (competitor-sync-stand-ins),
//! both on one local port as in the sandbox, with every request counted and, for the lone-call
//! latency, the moment each Opportunity's first write was answered.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::{self, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use competitor_sync_stand_ins::gong::{self, GongApi, GongSettings};
use competitor_sync_stand_ins::salesforce::{self, OAuthSettings, Org, SalesforceApi, Schema};
use competitor_sync_stand_ins::synthetic;
use serde_json::Value;
use tokio::net::TcpListener;

/// The credentials the stand-ins expect, and the benchmark gives the service.
pub const GONG_ACCESS_KEY: &str = "bench";
pub const GONG_ACCESS_KEY_SECRET: &str = "bench";
pub const SALESFORCE_CLIENT_ID: &str = "bench";
pub const SALESFORCE_CLIENT_SECRET: &str = "bench";

/// What the stand-ins saw.
#[derive(Default)]
pub struct Counters {
    pub gong_requests: AtomicU64,
    /// Of `gong_requests`, those for transcripts (`/v2/calls/transcript`).
    pub gong_transcript_requests: AtomicU64,
    pub gong_throttled: AtomicU64,
    pub salesforce_token: AtomicU64,
    pub salesforce_describe: AtomicU64,
    pub salesforce_query: AtomicU64,
    /// sObject Collections updates (`PATCH /composite/sobjects`), as the service writes.
    pub salesforce_update: AtomicU64,
    /// Single-record updates (`PATCH /sobjects/Opportunity/{id}`), as the baseline writes.
    pub salesforce_record_update: AtomicU64,
    last_write: Mutex<Option<Instant>>,
    /// When each Gong request arrived.
    gong_arrivals: Mutex<Vec<Instant>>,
    /// Per Opportunity id as sent, when the stand-in answered its first successful write.
    written_at: Mutex<HashMap<String, Instant>>,
    /// Woken at every stamp in `written_at`, so a waiter need not poll.
    stamped: tokio::sync::Notify,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// When the last update (collection or single record) was answered.
    pub fn last_write(&self) -> Option<Instant> {
        *lock(&self.last_write)
    }

    /// When the stand-in answered the first successful write of Opportunity `id`.
    pub fn written_at(&self, id: &str) -> Option<Instant> {
        lock(&self.written_at).get(id).copied()
    }

    /// Resolves at the next stamp in `written_at` (after `enable()` on the pinned future).
    pub fn stamped(&self) -> tokio::sync::futures::Notified<'_> {
        self.stamped.notified()
    }

    /// Stamps each of `ids` answered at `at`, keeping an earlier stamp.
    fn stamp(&self, ids: impl IntoIterator<Item = String>, at: Instant) {
        let mut written = lock(&self.written_at);
        for id in ids {
            written.entry(id).or_insert(at);
        }
        drop(written);
        self.stamped.notify_waiters();
    }

    /// The most Gong requests that arrived within any one second (of every replica).
    pub fn gong_busiest_second(&self) -> usize {
        let arrivals = lock(&self.gong_arrivals);
        (0..arrivals.len())
            .map(|first| {
                arrivals[first..]
                    .iter()
                    .take_while(|at| at.duration_since(arrivals[first]).as_secs_f64() < 1.0)
                    .count()
            })
            .max()
            .unwrap_or_default()
    }
}

pub struct Upstreams {
    /// Gong's base URL and Salesforce's login URL.
    pub url: String,
    pub counters: Arc<Counters>,
    gong: Arc<GongApi>,
    salesforce: Arc<SalesforceApi>,
}

impl Upstreams {
    /// Both stand-ins on a free local port: Gong with no calls yet and its 3 requests per
    /// second, Salesforce with an org in which every Opportunity id exists.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let gong = Arc::new(GongApi::new(
            Vec::new(),
            GongSettings {
                access_key: GONG_ACCESS_KEY.into(),
                access_key_secret: GONG_ACCESS_KEY_SECRET.into(),
                page_size: gong::MAX_PAGE_SIZE,
                requests_per_second: 3,
            },
        ));
        let salesforce = Arc::new(SalesforceApi::new(
            OAuthSettings {
                client_id: SALESFORCE_CLIENT_ID.into(),
                client_secret: SALESFORCE_CLIENT_SECRET.into(),
                username: "bench@example.com".into(),
                public_url: url.clone(),
            },
            Org::open(Schema::Standard),
            100_000,
        ));
        let counters = Arc::new(Counters::default());
        let app = Router::new()
            .merge(gong::router(Arc::clone(&gong)))
            .merge(salesforce::router(Arc::clone(&salesforce)))
            .layer(middleware::from_fn_with_state(Arc::clone(&counters), count));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url,
            counters,
            gong,
            salesforce,
        })
    }

    /// Gives Gong synthetic call `n` (linked to an Opportunity of its own) and returns the
    /// webhook announcing it.
    pub fn add_call(&self, n: u64) -> Value {
        let call = synthetic::call(n, &synthetic::opportunity_id(n), &["Clari", "Chorus"]);
        let webhook = synthetic::webhook(&call);
        self.gong.add(call);
        webhook
    }

    /// Opportunities written at least once.
    pub fn written(&self) -> usize {
        self.salesforce.org().written()
    }
}

/// A poisoned lock only means a panic elsewhere; the figures are still sound.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which kind of Salesforce write a request is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Collection,
    Record,
}

fn write_kind(method: &Method, path: &str) -> Option<Write> {
    if method != Method::PATCH {
        return None;
    }
    if path.ends_with("/composite/sobjects") {
        Some(Write::Collection)
    } else if path.contains("/sobjects/Opportunity/") {
        Some(Write::Record)
    } else {
        None
    }
}

/// Counts each request by endpoint, Gong's 429s, when the last update was answered, and when
/// each Opportunity was first written.
async fn count(State(counters): State<Arc<Counters>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let write = write_kind(request.method(), &path);
    let update = write == Some(Write::Collection);
    let counter = if path == "/v2/calls/extensive" || path == "/v2/calls/transcript" {
        lock(&counters.gong_arrivals).push(Instant::now());
        if path == "/v2/calls/transcript" {
            counters
                .gong_transcript_requests
                .fetch_add(1, Ordering::Relaxed);
        }
        Some(&counters.gong_requests)
    } else if path == "/services/oauth2/token" {
        Some(&counters.salesforce_token)
    } else if path.ends_with("/describe") {
        Some(&counters.salesforce_describe)
    } else if path.ends_with("/query") {
        Some(&counters.salesforce_query)
    } else if update {
        Some(&counters.salesforce_update)
    } else if write == Some(Write::Record) {
        Some(&counters.salesforce_record_update)
    } else {
        None
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    let Some(write) = write else {
        let response = next.run(request).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            counters.gong_throttled.fetch_add(1, Ordering::Relaxed);
        }
        return response;
    };
    // The body is read here to learn which records the write names; the handler gets it back.
    let (parts, request_body) = request.into_parts();
    let Ok(sent) = body::to_bytes(request_body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(sent.clone())))
        .await;
    // Taken before any parsing below, so the stamp is when the stand-in had its answer.
    let answered = Instant::now();
    *lock(&counters.last_write) = Some(answered);
    match write {
        Write::Record => {
            if response.status().is_success() {
                let id = path.rsplit('/').next().unwrap_or_default().to_owned();
                counters.stamp([id], answered);
            }
            response
        }
        Write::Collection => stamp_collection(&counters, &sent, response, answered).await,
    }
}

/// Stamps the records of an sObject Collections update whose results say `success`; results
/// come in the order of the records sent.
async fn stamp_collection(
    counters: &Counters,
    sent: &Bytes,
    response: Response,
    answered: Instant,
) -> Response {
    let (parts, answer_body) = response.into_parts();
    let Ok(answer) = body::to_bytes(answer_body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let records = serde_json::from_slice::<Value>(sent).unwrap_or_default();
    let results = serde_json::from_slice::<Value>(&answer).unwrap_or_default();
    let (Some(records), Some(results)) = (records["records"].as_array(), results.as_array()) else {
        return Response::from_parts(parts, Body::from(answer));
    };
    let written = records.iter().zip(results).filter_map(|(record, result)| {
        if result["success"] != true {
            return None;
        }
        let fields = record.as_object()?;
        let (_, id) = fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("id"))?;
        Some(id.as_str()?.to_owned())
    });
    counters.stamp(written.collect::<Vec<_>>(), answered);
    Response::from_parts(parts, Body::from(answer))
}
