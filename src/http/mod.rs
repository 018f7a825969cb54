//! The HTTP surface: the Gong webhook, probes and metrics, with the middleware around them.

mod admin;
pub mod auth;
mod console;
mod error;
pub mod headers;
pub mod idle;
mod operator;
mod probes;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::WebhookAuth;

use axum::error_handling::HandleErrorLayer;
use axum::BoxError;
pub use error::ApiError;
use tower::ServiceBuilder;

use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub metrics: PrometheusHandle,
    pub max_body_bytes: usize,
    pub auth: Arc<WebhookAuth>,
    /// `sweep.enabled`: whether probes and metrics report the catch-up sweep.
    pub sweep_enabled: bool,
    /// `gong.daily_limit`, for the overview.
    pub gong_daily_limit: u32,
}

/// Limits on what one client can make the service do.
pub struct Limits {
    pub request_timeout: Duration,
    pub max_concurrent_webhooks: usize,
}

/// The whole HTTP surface. `console_always_secure` (`webhook.public_url` is https) makes the
/// console's cookies `Secure` whatever the request says.
pub fn router(
    state: AppState,
    admin_token: Option<SecretString>,
    console_always_secure: bool,
    limits: Limits,
) -> Router {
    let webhooks = webhook_routes(limits.max_concurrent_webhooks, state.max_body_bytes);
    // Without an admin token the admin routes do not exist (404), rather than being open.
    let console = match &admin_token {
        Some(token) => console::router(Arc::new(console::SessionKeys::new(
            token.clone(),
            console_always_secure,
        ))),
        None => Router::new(),
    };
    let admin = admin_token.map_or_else(Router::new, admin_routes);
    Router::new()
        .merge(webhooks)
        .merge(admin)
        .merge(console)
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "an internal error occurred; the request was not processed",
            )
            .into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
        // Outside the request id, so the client's own header fields are what is counted.
        .layer(middleware::from_fn(headers::limit_headers))
        .layer(middleware::from_fn(error::json_errors))
}

/// Beyond the concurrency limit, webhooks are shed with a 503 at once rather than queued: a
/// flood cannot pile up in memory, and the probes stay outside the limit.
fn webhook_routes(max_concurrent: usize, max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/gong",
            post(webhook::receive).layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|_: BoxError| async {
                        ApiError::overloaded()
                    }))
                    .load_shed()
                    .concurrency_limit(max_concurrent),
            ),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

fn admin_routes(token: SecretString) -> Router<AppState> {
    Router::new()
        .route("/admin/overview", get(admin::show_overview))
        .route("/admin/jobs", get(admin::list_jobs))
        .route("/admin/jobs/retry", post(admin::retry_matching))
        .route("/admin/jobs/{id}", get(admin::show_job))
        .route("/admin/opportunities/{record_id}", get(admin::show_record))
        .route("/admin/jobs/{id}/retry", post(admin::retry_job))
        .route_layer(middleware::from_fn_with_state(
            Arc::new(admin::AdminToken(token)),
            admin::require_admin,
        ))
}

/// The span names the path only: the query string may carry the webhook key.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
    )
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
    .into_response()
}
