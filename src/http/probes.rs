//! Health, readiness and metrics endpoints.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::AppState;
use crate::shared::SALESFORCE_PAUSE;
use crate::store::{rfc3339, JobStatus};
use crate::sweep::SWEEP_NAME;
use crate::telemetry;

/// The process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Ready to accept webhooks: the store answers and can commit. A Salesforce pause is reported in the
/// detail but keeps the service ready: webhooks are still accepted and wait in the queue.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let salesforce = match state.store.active_pause(SALESFORCE_PAUSE).await {
        Ok(None) => "ok".to_owned(),
        Ok(Some(pause)) => format!(
            "paused until {}: {}",
            rfc3339(pause.until_unix_ms),
            pause.reason
        ),
        Err(error) => format!("unknown: {error}"),
    };
    let sweep = sweep_detail(&state).await;
    match state.store.readiness().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "checks": { "store": "ok", "salesforce": salesforce, "sweep": sweep }
            })),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "not_ready",
                    "checks": {
                        "store": error.to_string(),
                        "salesforce": salesforce,
                        "sweep": sweep
                    }
                })),
            )
        }
    }
}

/// The catch-up sweep, for the readiness detail: informative only, since webhooks are
/// accepted whatever the sweep does.
async fn sweep_detail(state: &AppState) -> String {
    let status = match state.store.sweep_status(SWEEP_NAME).await {
        Ok(status) => status,
        Err(error) => return format!("unknown: {error}"),
    };
    // A sweep run from the command line is reported even when the service does not sweep.
    let last = match status {
        None => "not run yet".to_owned(),
        Some(status) => match (status.last_success_unix_ms, status.last_outcome) {
            (Some(at), Some(last)) => format!("last completed {}; last sweep {last}", rfc3339(at)),
            (None, Some(last)) => format!("never completed; last sweep {last}"),
            (_, None) => "the first sweep is running".to_owned(),
        },
    };
    if state.sweep_enabled {
        last
    } else {
        format!("disabled (sweep.enabled = false); {last}")
    }
}

/// Prometheus text exposition. Queue depth is read from the store at scrape time, so it is
/// exact whatever wrote to the store.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.queue_depth().await {
        Ok(depth) => telemetry::record_queue_depth(
            JobStatus::ALL.map(|status| (status.as_str(), depth.get(status))),
        ),
        Err(error) => tracing::warn!(%error, "could not read the queue depth"),
    }
    match state.store.oldest_queued_age().await {
        Ok(age) => telemetry::record_oldest_queued_age(age),
        Err(error) => tracing::warn!(%error, "could not read the oldest queued job"),
    }
    // Read at scrape time, so the gauge drops back to 0 when a pause ends even while no job
    // runs, and shows a pause another process started.
    match state.store.active_pause(SALESFORCE_PAUSE).await {
        Ok(pause) => telemetry::salesforce_paused(pause.is_some()),
        Err(error) => tracing::warn!(%error, "could not read the Salesforce pause"),
    }
    // Read at scrape time: any process's sweep counts. Absent until a sweep completed, as
    // a 0 would read as a sweep in 1970.
    match state.store.sweep_status(SWEEP_NAME).await {
        Ok(status) => {
            if let Some(at) = status.and_then(|s| s.last_success_unix_ms) {
                telemetry::sweep_last_success(at);
            }
        }
        Err(error) => tracing::warn!(%error, "could not read the sweep's last success"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
