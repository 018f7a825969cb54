//! Health, readiness and metrics endpoints.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::AppState;
use crate::telemetry;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready to accept webhooks: the store answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": { "store": "ok" } })),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "checks": { "store": error.to_string() } })),
            )
        }
    }
}

/// Prometheus text exposition. Queue depth is read from the store at scrape time, so it is
/// exact whatever wrote to the store.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.queue_depth().await {
        Ok(depth) => telemetry::record_queue_depth(&depth),
        Err(error) => tracing::warn!(%error, "could not read the queue depth"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
