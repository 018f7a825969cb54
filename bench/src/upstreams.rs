//! Gong and Salesforce for the benchmark: the shared stand-ins (competitor-sync-stand-ins),
//! both on one local port as in the sandbox, with every request counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
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
    pub salesforce_update: AtomicU64,
    last_write: Mutex<Option<Instant>>,
    /// When each Gong request arrived.
    gong_arrivals: Mutex<Vec<Instant>>,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// When the last collection update was answered.
    pub fn last_write(&self) -> Option<Instant> {
        *self
            .last_write
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The most Gong requests that arrived within any one second (of every replica).
    pub fn gong_busiest_second(&self) -> usize {
        let arrivals = self
            .gong_arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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

/// Counts each request by endpoint, Gong's 429s, and when the last collection update was
/// answered.
async fn count(State(counters): State<Arc<Counters>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let update = request.method() == Method::PATCH && path.ends_with("/composite/sobjects");
    let counter = if path == "/v2/calls/extensive" || path == "/v2/calls/transcript" {
        counters
            .gong_arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Instant::now());
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
    } else {
        None
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        counters.gong_throttled.fetch_add(1, Ordering::Relaxed);
    }
    if update {
        *counters
            .last_write
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }
    response
}
