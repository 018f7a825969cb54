//! The operator console: server-rendered pages under `/console`, mounted only with
//! `admin.token`, signed in once with it (a session cookie), every form CSRF-protected, and
//! every page behind a strict Content-Security-Policy (no script at all). The pages read
//! what the admin API answers with ([`super::operator`]): one implementation behind both.

mod job;
mod jobs;
mod layout;
mod overview;
mod session;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use axum_extra::extract::cookie::CookieJar;
use maud::html;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::error::ApiError;
use super::operator::{self, store_error, FilterParams};
use super::AppState;
use crate::store::{JobFilter, JobStatus};
use jobs::{query_string, url_query, ListContext};
pub use session::SessionKeys;
use session::{same_site_request, Session};

const STYLESHEET: &str = include_str!("console.css");
/// No script, no frames, no third parties: styles and images from the console itself.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(keys: Arc<SessionKeys>) -> Router<AppState> {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/console", get(home))
        .route("/console/sign-in", post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/jobs", get(jobs_list))
        .route("/console/jobs/retry", post(retry_matching))
        .route("/console/jobs/{job_id}", get(job_page))
        .route("/console/jobs/{job_id}/retry", post(retry_job))
        .route("/console/opportunities/{record_id}", get(record_page))
        .route("/console/assets/console.css", get(stylesheet))
        .layer(Extension(keys))
        .layer(header("content-security-policy", CONTENT_SECURITY_POLICY))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("referrer-policy", "no-referrer"))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Why a request is answered without its page.
enum Refused {
    /// Not signed in: to the sign-in form, and back to `next` after.
    SignIn { next: String },
    /// The session ended meanwhile, the form is forged, or it came from another site.
    Forbidden {
        message: &'static str,
        session: Option<Session>,
    },
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let next = query_string(&[("next", next)]);
                Redirect::to(&format!("/console?{next}")).into_response()
            }
            Self::Forbidden { message, session } => {
                problem_page(StatusCode::FORBIDDEN, message, session.as_ref())
            }
        }
    }
}

/// The signed-in session, or the refusal that sends the browser to sign in first (and back
/// to `here` after).
fn signed_in(keys: &SessionKeys, jar: &CookieJar, here: &str) -> Result<Session, Refused> {
    keys.session(jar, now()).ok_or_else(|| Refused::SignIn {
        next: here.to_owned(),
    })
}

/// A page with `status`, for what went wrong.
fn problem_page(status: StatusCode, message: &str, session: Option<&Session>) -> Response {
    let body = layout::page(
        status.canonical_reason().unwrap_or("Error"),
        session,
        html! { p.error role="alert" { (message) } p { a href="/console" { "Back to the overview" } } },
    );
    (status, body).into_response()
}

fn api_problem(error: &ApiError, session: &Session) -> Response {
    problem_page(error.status(), error.message(), Some(session))
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(next: Option<&str>) -> &str {
    next.filter(|n| n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/console")
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    jar: CookieJar,
    Query(params): Query<NextParam>,
) -> Response {
    let Some(session) = keys.session(&jar, now()) else {
        return overview::sign_in(None, safe_next(params.next.as_deref())).into_response();
    };
    match operator::overview(&state).await {
        Ok(overview) => overview::overview(&overview, &session).into_response(),
        Err(error) => api_problem(&store_error(error), &session),
    }
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
    next: Option<String>,
}

async fn sign_in(
    Extension(keys): Extension<Arc<SessionKeys>>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    if !same_site_request(&headers) {
        return problem_page(
            StatusCode::FORBIDDEN,
            "Sign in from the console itself.",
            None,
        );
    }
    if !keys.is_admin_token(&form.token) {
        tracing::warn!("console sign-in refused: not the admin token");
        let page = overview::sign_in(Some("That is not the admin token."), &next);
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    tracing::info!("console signed in");
    let jar = jar.add(keys.new_cookie(now(), &headers));
    (jar, Redirect::to(&next)).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The session of a state-changing form, when its CSRF token and origin check out.
fn form_session(
    keys: &SessionKeys,
    jar: &CookieJar,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Session, Refused> {
    let Some(session) = keys.session(jar, now()) else {
        return Err(Refused::Forbidden {
            message: "Your session has ended: sign in again, then repeat what you did.",
            session: None,
        });
    };
    if !same_site_request(headers) || !session.accepts(csrf) {
        tracing::warn!("console form refused: missing or wrong CSRF token, or another origin");
        return Err(Refused::Forbidden {
            message: "This form did not come from this console (or has expired): reload the \
                      page and try again.",
            session: Some(session),
        });
    }
    Ok(session)
}

async fn sign_out(
    Extension(keys): Extension<Arc<SessionKeys>>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = form_session(&keys, &jar, &headers, &form.csrf) {
        return refused.into_response();
    }
    let jar = jar.add(keys.clearing_cookie(&headers));
    (jar, Redirect::to("/console")).into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    filter: FilterParams,
    retried: Option<u64>,
}

async fn jobs_list(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    jar: CookieJar,
    Query(query): Query<ListQuery>,
) -> Response {
    let here = format!("/console/jobs?{}", query_string(&url_query(&query.filter)));
    let session = match signed_in(&keys, &jar, &here) {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    let params = FilterParams {
        limit: Some(operator::PAGE_SIZE),
        ..query.filter
    };
    let listed = async {
        let page = operator::jobs_page(&state.store, &params).await?;
        let dead = match dead_among(&params.filter()?) {
            Some(dead) => state
                .store
                .count_matching(&dead)
                .await
                .map_err(store_error)?,
            None => 0,
        };
        Ok::<_, ApiError>((page, dead))
    };
    match listed.await {
        Ok((page, dead)) => {
            let context = ListContext {
                params: &params,
                dead,
                retried: query.retried,
            };
            jobs::jobs(&page, &context, &session).into_response()
        }
        Err(error) => api_problem(&error, &session),
    }
}

/// The dead jobs among those `filter` selects; `None` when it selects another state.
fn dead_among(filter: &JobFilter) -> Option<JobFilter> {
    match filter.status {
        Some(status) if status != JobStatus::Dead => None,
        _ => Some(JobFilter {
            status: Some(JobStatus::Dead),
            ..filter.clone()
        }),
    }
}

#[derive(Deserialize)]
struct RetryMatchingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
    #[serde(flatten)]
    filter: FilterParams,
}

async fn retry_matching(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<RetryMatchingForm>,
) -> Response {
    let session = match form_session(&keys, &jar, &headers, &form.csrf) {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    if form.confirm != "yes" {
        let message = "Tick the confirmation to queue the dead jobs again.";
        return problem_page(StatusCode::BAD_REQUEST, message, Some(&session));
    }
    let filter = match form.filter.filter() {
        Ok(filter) => dead_among(&filter),
        Err(error) => return api_problem(&error, &session),
    };
    let retried = match filter {
        Some(filter) => state.store.retry_dead_matching(&filter).await,
        None => Ok(0),
    };
    match retried {
        Ok(queued) => {
            tracing::info!(jobs = queued, "dead jobs queued again from the console");
            let mut query = url_query(&form.filter);
            query.push(("retried", queued.to_string()));
            Redirect::to(&format!("/console/jobs?{}", query_string(&query))).into_response()
        }
        Err(error) => api_problem(&store_error(error), &session),
    }
}

#[derive(Deserialize)]
struct JobQuery {
    notice: Option<String>,
}

async fn job_page(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    jar: CookieJar,
    Path(job_id): Path<String>,
    Query(query): Query<JobQuery>,
) -> Response {
    let session = match signed_in(&keys, &jar, &format!("/console/jobs/{job_id}")) {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    let notice = match query.notice.as_deref() {
        Some("queued") => Some("Queued: the next worker takes it up within moments."),
        _ => None,
    };
    match operator::job_page(&state.store, &job_id).await {
        Ok(page) => job::job(&page, notice, &session).into_response(),
        Err(error) => api_problem(&error, &session),
    }
}

async fn retry_job(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(job_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let session = match form_session(&keys, &jar, &headers, &form.csrf) {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    match operator::retry_job(&state.store, &job_id).await {
        Ok(()) => Redirect::to(&format!("/console/jobs/{job_id}?notice=queued")).into_response(),
        Err(error) => api_problem(&error, &session),
    }
}

async fn record_page(
    State(state): State<AppState>,
    Extension(keys): Extension<Arc<SessionKeys>>,
    jar: CookieJar,
    Path(record_id): Path<String>,
) -> Response {
    let here = format!("/console/opportunities/{record_id}");
    let session = match signed_in(&keys, &jar, &here) {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    match operator::record_page(&state.store, &record_id).await {
        Ok(page) => job::record(&page, &session).into_response(),
        Err(error) => api_problem(&error, &session),
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}
