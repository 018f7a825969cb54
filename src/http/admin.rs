//! Operator endpoints: list jobs (the dead letters above all), inspect one, replay it.
//! Mounted only when `admin.token` is set, and guarded by it.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde_json::json;

use super::auth::{bearer_credentials, same_secret};
use super::error::ApiError;
use super::operator::{
    self, job_page, jobs_page, overview, record_page, store_error, FilterParams,
};
use super::AppState;

const DEFAULT_LIMIT: u32 = 100;

/// The admin token, for the guard.
pub struct AdminToken(pub SecretString);

/// Admits `Authorization: Bearer <admin.token>`, the scheme in any case; unlike the webhook,
/// which must take what Gong sends, nothing looser: no bare token, no other scheme, no
/// whitespace around the token.
pub async fn require_admin(
    State(token): State<Arc<AdminToken>>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials);
    match presented {
        Some(presented) if same_secret(presented, &token.0) => next.run(request).await,
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin endpoints need `Authorization: Bearer <admin.token>`",
        )
        .into_response(),
    }
}

/// `GET /admin/jobs`: a page of the jobs the filter selects (see [`FilterParams`]), newest
/// first, with the total.
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(params): Query<FilterParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = FilterParams {
        limit: Some(params.limit.unwrap_or(DEFAULT_LIMIT)),
        ..params
    };
    Ok(Json(json!(jobs_page(&state.store, &params).await?)))
}

pub async fn show_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!(job_page(&state.store, &id).await?)))
}

/// `GET /admin/overview`: the state of the service at a glance.
pub async fn show_overview(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!(overview(&state).await.map_err(store_error)?)))
}

/// `GET /admin/opportunities/{record_id}`: every value written to the record, and its jobs.
pub async fn show_record(
    State(state): State<AppState>,
    Path(record_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!(record_page(&state.store, &record_id).await?)))
}

/// `POST /admin/jobs/retry?…filter…`: queues again every dead job the filter selects.
pub async fn retry_matching(
    State(state): State<AppState>,
    Query(params): Query<FilterParams>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let filter = params.filter()?;
    let queued = state
        .store
        .retry_dead_matching(&filter)
        .await
        .map_err(store_error)?;
    tracing::info!(jobs = queued, "dead jobs queued again by an operator");
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))))
}

/// Replays a dead job (fresh attempts; records already written are not written again), or
/// makes a queued one waiting for its next attempt due now.
pub async fn retry_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    operator::retry_job(&state.store, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": id, "status": "queued" })),
    ))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::get;
    use axum::{middleware, Router};
    use tower::ServiceExt;

    use super::*;

    const TOKEN: &str = "admin-token-0123456789";

    async fn status_for(authorization: &str) -> StatusCode {
        let guard = middleware::from_fn_with_state(
            Arc::new(AdminToken(SecretString::from(TOKEN))),
            require_admin,
        );
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(guard);
        let request = Request::builder()
            .uri("/")
            .header(AUTHORIZATION, authorization)
            .body(Body::empty())
            .expect("request");
        match app.oneshot(request).await {
            Ok(response) => response.status(),
            Err(never) => match never {},
        }
    }

    #[tokio::test]
    async fn the_bearer_scheme_is_required_in_any_case_and_nothing_else() {
        for accepted in [
            format!("Bearer {TOKEN}"),
            format!("bearer {TOKEN}"),
            format!("BEARER {TOKEN}"),
            format!("Bearer   {TOKEN}"),
        ] {
            assert_eq!(status_for(&accepted).await, StatusCode::OK, "{accepted:?}");
        }
        for refused in [
            TOKEN.to_owned(),
            format!("Bearer {TOKEN} "),
            format!("Bearer {TOKEN}\t"),
            format!(" Bearer {TOKEN}"),
            format!("Bearer\t{TOKEN}"),
            format!("Basic {TOKEN}"),
            format!("Token {TOKEN}"),
            format!("Bearer{TOKEN}"),
            "Bearer ".to_owned(),
        ] {
            assert_eq!(
                status_for(&refused).await,
                StatusCode::UNAUTHORIZED,
                "{refused:?}"
            );
        }
    }
}
