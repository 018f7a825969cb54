//! The org over HTTP: the OAuth token endpoint, and the REST API the service uses (describe,
//! sObject rows of Opportunity and OpportunityCompetitor, sObject Collections updates and
//! creates, SOQL, limits) behind a Bearer token, with the org's daily API usage in
//! `Sforce-Limit-Info` on every answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::competitor;
use super::error::SfError;
use super::oauth::{self, OAuthSettings};
use super::org::Org;
use super::rest::{self, json_body};
use super::OBJECT;

pub struct SalesforceApi {
    oauth: OAuthSettings,
    /// Access tokens issued and not revoked.
    tokens: Mutex<HashSet<String>>,
    org: Mutex<Org>,
    /// API requests made today, and the org's daily allowance.
    usage: Mutex<u64>,
    daily_limit: u64,
}

impl SalesforceApi {
    pub fn new(oauth: OAuthSettings, org: Org, daily_limit: u64) -> Self {
        Self {
            oauth,
            tokens: Mutex::new(HashSet::new()),
            org: Mutex::new(org),
            usage: Mutex::new(0),
            daily_limit,
        }
    }

    /// The org, for the sandbox's own pages and the benchmark's count of records written.
    pub fn org(&self) -> MutexGuard<'_, Org> {
        lock(&self.org)
    }

    fn instance_url(&self) -> &str {
        self.oauth.public_url.trim_end_matches('/')
    }
}

/// A poisoned lock only means a panic elsewhere; the org's data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn router(api: Arc<SalesforceApi>) -> Router {
    let data = Router::new()
        .route(
            "/services/data/{version}/sobjects/{object}/describe",
            get(describe),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            get(read_record).patch(update_record).delete(delete_record),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            patch(update_collection).post(create_collection),
        )
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/limits", get(limits))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&api),
            require_session,
        ));
    Router::new()
        .route("/services/oauth2/token", post(token))
        .merge(data)
        .with_state(api)
}

async fn token(
    State(api): State<Arc<SalesforceApi>>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let form = form.map(|Form(form)| form).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    match oauth::check_grant(&api.oauth, &form, now.unix_timestamp()) {
        Ok(grant) => {
            let mut secret = [0u8; 24];
            rand::rng().fill_bytes(&mut secret);
            let access_token = format!("00DSANDBOX0000001!{}", hex(&secret));
            lock(&api.tokens).insert(access_token.clone());
            tracing::info!(grant, "Salesforce: access token issued");
            let mut signature = [0u8; 32];
            rand::rng().fill_bytes(&mut signature);
            Json(json!({
                "access_token": access_token,
                "instance_url": api.instance_url(),
                "id": format!("{}/id/00DSANDBOX0000001EAA/005SANDBOX0000001AAA", api.instance_url()),
                "token_type": "Bearer",
                "issued_at": (now.unix_timestamp_nanos() / 1_000_000).to_string(),
                "signature": STANDARD.encode(signature),
                "scope": "api"
            }))
            .into_response()
        }
        Err(refusal) => {
            tracing::warn!(error = refusal.error, detail = %refusal.detail, "Salesforce: token refused");
            (StatusCode::BAD_REQUEST, Json(refusal.body())).into_response()
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every REST request: a known API version, a valid Bearer token, and one request counted
/// against the org's daily allowance, reported back in `Sforce-Limit-Info`.
async fn require_session(
    State(api): State<Arc<SalesforceApi>>,
    request: Request,
    next: Next,
) -> Response {
    let version_ok = request
        .uri()
        .path()
        .strip_prefix("/services/data/v")
        .and_then(|rest| rest.split('/').next())
        .and_then(|version| version.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
        });
    if !version_ok {
        return not_found();
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("OAuth "))
        })
        .map(str::trim);
    if !token.is_some_and(|token| lock(&api.tokens).contains(token)) {
        tracing::warn!("Salesforce: missing, unknown or revoked access token");
        return rest_error(
            StatusCode::UNAUTHORIZED,
            &SfError::new("INVALID_SESSION_ID", "Session expired or invalid"),
        );
    }
    let used = {
        let mut usage = lock(&api.usage);
        *usage += 1;
        *usage
    };
    let mut response = if used > api.daily_limit {
        tracing::warn!(
            used,
            limit = api.daily_limit,
            "Salesforce: daily API limit exceeded"
        );
        rest_error(
            StatusCode::FORBIDDEN,
            &SfError::new("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        )
    } else {
        next.run(request).await
    };
    let usage = format!(
        "api-usage={}/{}",
        used.min(api.daily_limit),
        api.daily_limit
    );
    if let Ok(value) = HeaderValue::from_str(&usage) {
        response.headers_mut().insert("sforce-limit-info", value);
    }
    response
}

fn rest_error(status: StatusCode, error: &SfError) -> Response {
    rest::error(status, error).into_response()
}

fn not_found() -> Response {
    rest_error(
        StatusCode::NOT_FOUND,
        &SfError::new("NOT_FOUND", "The requested resource does not exist"),
    )
}

async fn describe(
    State(api): State<Arc<SalesforceApi>>,
    Path((_, object)): Path<(String, String)>,
) -> Response {
    rest::describe(&api.org(), &object).into_response()
}

/// Which of the org's objects a record path names.
enum Object {
    Opportunity,
    Row,
}

fn object(name: &str) -> Option<Object> {
    if name.eq_ignore_ascii_case(OBJECT) {
        Some(Object::Opportunity)
    } else if name.eq_ignore_ascii_case(competitor::OBJECT) {
        Some(Object::Row)
    } else {
        None
    }
}

#[derive(Deserialize)]
struct FieldsParam {
    fields: Option<String>,
}

async fn read_record(
    State(api): State<Arc<SalesforceApi>>,
    Path((_, object, id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Response {
    let Some(object) = self::object(&object) else {
        return not_found();
    };
    let fields: Option<Vec<String>> = params.fields.map(|list| {
        list.split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect()
    });
    let org = api.org();
    let read = match object {
        Object::Opportunity => org.read(&id, fields.as_deref()),
        Object::Row => org.read_row(&id, fields.as_deref()),
    };
    match read {
        Ok(record) => Json(record).into_response(),
        Err(error) => rest_error(error.status(), &error),
    }
}

async fn update_record(
    State(api): State<Arc<SalesforceApi>>,
    Path((_, object, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Some(object) = self::object(&object) else {
        return not_found();
    };
    let changes: Map<String, Value> = match json_body(&body) {
        Ok(Value::Object(changes)) => changes,
        Ok(_) => {
            return rest_error(
                StatusCode::BAD_REQUEST,
                &SfError::new(
                    "JSON_PARSER_ERROR",
                    "The request body must be a JSON object",
                ),
            )
        }
        Err(error) => return rest_error(StatusCode::BAD_REQUEST, &error),
    };
    let now = OffsetDateTime::now_utc();
    let mut org = api.org();
    let updated = match object {
        Object::Opportunity => org.update(&id, &changes, now),
        Object::Row => org.update_row(&id, &changes, now),
    };
    match updated {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => rest_error(error.status(), &error),
    }
}

/// `DELETE /sobjects/OpportunityCompetitor/{id}`; the org deletes no Opportunity.
async fn delete_record(
    State(api): State<Arc<SalesforceApi>>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Response {
    if !matches!(self::object(&object), Some(Object::Row)) {
        return not_found();
    }
    match api.org().delete_row(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => rest_error(error.status(), &error),
    }
}

async fn update_collection(State(api): State<Arc<SalesforceApi>>, body: Bytes) -> Response {
    rest::update_collection(&mut api.org(), &body, OffsetDateTime::now_utc()).into_response()
}

async fn create_collection(State(api): State<Arc<SalesforceApi>>, body: Bytes) -> Response {
    rest::create_collection(&mut api.org(), &body, OffsetDateTime::now_utc()).into_response()
}

#[derive(Deserialize)]
struct QueryParam {
    q: Option<String>,
}

async fn query(
    State(api): State<Arc<SalesforceApi>>,
    Query(params): Query<QueryParam>,
) -> Response {
    rest::query(&api.org(), params.q.as_deref()).into_response()
}

async fn limits(State(api): State<Arc<SalesforceApi>>) -> Response {
    let used = *lock(&api.usage);
    Json(json!({
        "DailyApiRequests": {
            "Max": api.daily_limit,
            "Remaining": api.daily_limit.saturating_sub(used)
        }
    }))
    .into_response()
}
