//! The Gong stand-in: `POST /v2/calls/extensive` ("List call data by date or call IDs") with
//! HTTP Basic auth, the `callIds` and date filters, cursor pages, the content selector, and
//! the per-second limit answered with 429 and `Retry-After`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use competitor_sync::digest::sha256_hex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::rate_window::{retry_after_secs, RateWindow};

/// Gong's page size: calls per answer.
pub const MAX_PAGE_SIZE: usize = 100;

pub struct GongSettings {
    pub access_key: String,
    pub access_key_secret: String,
    pub page_size: usize,
    pub requests_per_second: u32,
}

pub struct GongApi {
    calls: Vec<StoredCall>,
    settings: GongSettings,
    window: Mutex<RateWindow>,
}

struct StoredCall {
    id: String,
    started: SystemTime,
    workspace_id: String,
    full: Value,
}

/// Why a request gets no calls: the status and Gong's `errors` text.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: StatusCode,
    pub message: String,
}

impl Failure {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallsRequest {
    cursor: Option<String>,
    #[serde(default)]
    filter: Filter,
    #[serde(default)]
    content_selector: ContentSelector,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    call_ids: Option<Vec<String>>,
    from_date_time: Option<String>,
    to_date_time: Option<String>,
    workspace_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentSelector {
    /// "None" (the default), "Basic" (linked objects) or "Extended" (with their fields).
    context: Option<String>,
    #[serde(default)]
    exposed_fields: ExposedFields,
}

#[derive(Debug, Default, Deserialize)]
struct ExposedFields {
    #[serde(default)]
    parties: bool,
    #[serde(default)]
    content: ContentFields,
}

#[derive(Debug, Default, Deserialize)]
struct ContentFields {
    #[serde(default)]
    trackers: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ContextLevel {
    None,
    Basic,
    Extended,
}

impl GongApi {
    /// `calls` in Gong's full shape, as [`crate::seed::calls`] builds them.
    pub fn new(calls: Vec<Value>, settings: GongSettings) -> Self {
        let mut calls: Vec<StoredCall> = calls
            .into_iter()
            .map(|full| StoredCall {
                id: full["metaData"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                started: full["metaData"]["started"]
                    .as_str()
                    .and_then(parse_time)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                workspace_id: full["metaData"]["workspaceId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                full,
            })
            .collect();
        calls.sort_by_key(|call| call.started);
        let window = Mutex::new(RateWindow::per_second(settings.requests_per_second));
        Self {
            calls,
            settings,
            window,
        }
    }

    /// Whether `headers` carry the expected access key and secret as HTTP Basic auth.
    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!(
            "{}:{}",
            self.settings.access_key, self.settings.access_key_secret
        );
        decoded == expected.as_bytes()
    }

    fn admit(&self, now: Instant) -> Result<(), Duration> {
        match self.window.lock() {
            Ok(mut window) => window.admit(now),
            // A poisoned lock only means a panic elsewhere; the window itself is still sound.
            Err(poisoned) => poisoned.into_inner().admit(now),
        }
    }

    /// One page of the calls matching the request, or Gong's 400 or 404.
    pub fn answer(&self, request: &CallsRequest) -> Result<Value, Failure> {
        let filter = &request.filter;
        if filter.call_ids.as_ref().is_some_and(Vec::is_empty) {
            return Err(Failure::bad_request("filter.callIds must not be empty"));
        }
        let from = bound("fromDateTime", filter.from_date_time.as_deref())?;
        let to = bound("toDateTime", filter.to_date_time.as_deref())?;
        let context = match request.content_selector.context.as_deref() {
            None | Some("None") => ContextLevel::None,
            Some("Basic") => ContextLevel::Basic,
            Some("Extended") => ContextLevel::Extended,
            Some(other) => {
                return Err(Failure::bad_request(format!(
                    "contentSelector.context: `{other}` is not one of None, Basic, Extended"
                )))
            }
        };
        let matching: Vec<&StoredCall> = self
            .calls
            .iter()
            .filter(|call| {
                filter
                    .call_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&call.id))
            })
            // Gong: calls that started on or after fromDateTime and before toDateTime.
            .filter(|call| from.is_none_or(|from| call.started >= from))
            .filter(|call| to.is_none_or(|to| call.started < to))
            .filter(|call| {
                filter
                    .workspace_id
                    .as_ref()
                    .is_none_or(|workspace| *workspace == call.workspace_id)
            })
            .collect();
        if matching.is_empty() {
            return Err(Failure {
                status: StatusCode::NOT_FOUND,
                message: "No calls found corresponding to the provided filters".into(),
            });
        }
        let fingerprint = filter_fingerprint(filter);
        let offset = match &request.cursor {
            Some(cursor) => decode_cursor(cursor, &fingerprint)?,
            None => 0,
        };
        let page_size = self.settings.page_size.clamp(1, MAX_PAGE_SIZE);
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|call| self.shape(call, context, &request.content_selector))
            .collect();
        let mut records = json!({
            "totalRecords": matching.len(),
            "currentPageSize": page.len(),
            "currentPageNumber": offset / page_size,
        });
        let next = offset + page.len();
        if next < matching.len() {
            records["cursor"] = json!(encode_cursor(next, &fingerprint));
        }
        Ok(json!({ "requestId": request_id(), "records": records, "calls": page }))
    }

    /// The parts of a call the content selector asks for.
    fn shape(&self, call: &StoredCall, context: ContextLevel, selector: &ContentSelector) -> Value {
        let mut shaped = json!({ "metaData": call.full["metaData"] });
        match context {
            ContextLevel::None => {}
            ContextLevel::Extended => shaped["context"] = call.full["context"].clone(),
            ContextLevel::Basic => {
                let mut basic = call.full["context"].clone();
                for object in basic
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .filter_map(|system| system["objects"].as_array_mut())
                    .flatten()
                    .filter_map(Value::as_object_mut)
                {
                    object.remove("fields");
                }
                shaped["context"] = basic;
            }
        }
        if selector.exposed_fields.parties {
            shaped["parties"] = call.full["parties"].clone();
        }
        if selector.exposed_fields.content.trackers {
            shaped["content"] = json!({ "trackers": call.full["content"]["trackers"] });
        }
        shaped
    }
}

pub fn router(api: Arc<GongApi>) -> Router {
    Router::new()
        .route("/v2/calls/extensive", post(list_calls))
        .with_state(api)
}

async fn list_calls(State(api): State<Arc<GongApi>>, headers: HeaderMap, body: Bytes) -> Response {
    if !api.authorised(&headers) {
        tracing::warn!("Gong: wrong or missing access key and secret (HTTP Basic auth)");
        return failure(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: invalid credentials",
        );
    }
    if let Err(wait) = api.admit(Instant::now()) {
        tracing::info!(
            "Gong: over {} requests/second, answered 429",
            api.settings.requests_per_second
        );
        let retry_after = retry_after_secs(wait).to_string();
        let mut response = failure(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        if let Ok(value) = retry_after.parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let request: CallsRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return failure(
                StatusCode::BAD_REQUEST,
                &format!("The request body is not valid: {error}"),
            )
        }
    };
    match api.answer(&request) {
        Ok(page) => Json(page).into_response(),
        Err(refused) => {
            if refused.status == StatusCode::BAD_REQUEST {
                tracing::warn!(reason = %refused.message, "Gong: bad request");
            }
            failure(refused.status, &refused.message)
        }
    }
}

/// Gong's error body: `{"requestId": "...", "errors": ["..."]}`.
fn failure(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "requestId": request_id(), "errors": [message] })),
    )
        .into_response()
}

fn request_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn bound(name: &str, value: Option<&str>) -> Result<Option<SystemTime>, Failure> {
    value
        .map(|text| {
            parse_time(text).ok_or_else(|| {
                Failure::bad_request(format!(
                    "filter.{name}: `{text}` is not an ISO-8601 date and time with a zone, such as 2026-01-01T00:00:00Z"
                ))
            })
        })
        .transpose()
}

/// ISO-8601 date and time with `Z` or a `+HH:MM`/`-HH:MM` offset, fractions allowed.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return humantime::parse_rfc3339_weak(utc).ok();
    }
    let (local, offset) = text.split_at(text.len().checked_sub(6)?);
    let (sign, hours_minutes) = match offset.split_at(1) {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let (hours, minutes) = hours_minutes.split_once(':')?;
    let offset_secs = hours.parse::<u64>().ok()? * 3600 + minutes.parse::<u64>().ok()? * 60;
    let local = humantime::parse_rfc3339_weak(local).ok()?;
    // Local time = UTC + offset, so UTC = local - offset.
    if sign > 0 {
        local.checked_sub(Duration::from_secs(offset_secs))
    } else {
        local.checked_add(Duration::from_secs(offset_secs))
    }
}

/// A cursor names the next offset and the filter it belongs to: Gong's cursors are opaque and
/// only valid with the filter that produced them.
fn filter_fingerprint(filter: &Filter) -> String {
    let canonical = serde_json::to_string(filter).unwrap_or_default();
    sha256_hex(canonical.as_bytes())[..16].to_owned()
}

fn encode_cursor(offset: usize, fingerprint: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}:{fingerprint}"))
}

fn decode_cursor(cursor: &str, fingerprint: &str) -> Result<usize, Failure> {
    let invalid = || Failure::bad_request("cursor is not valid");
    let decoded = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (offset, issued_for) = text.split_once(':').ok_or_else(invalid)?;
    if issued_for != fingerprint {
        return Err(Failure::bad_request(
            "cursor does not belong to this filter: send the same filter with each page",
        ));
    }
    offset.parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::seed;

    fn api(page_size: usize) -> GongApi {
        GongApi::new(
            seed::calls(OffsetDateTime::now_utc()),
            GongSettings {
                access_key: "key".into(),
                access_key_secret: "secret".into(),
                page_size,
                requests_per_second: 3,
            },
        )
    }

    fn request(body: Value) -> CallsRequest {
        serde_json::from_value(body).expect("request")
    }

    fn ids(page: &Value) -> Vec<String> {
        page["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|call| {
                call["metaData"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn call_ids_select_calls_and_extended_context_with_trackers_is_shaped_as_asked() {
        let api = api(100);
        let page = api
            .answer(&request(json!({
                "filter": {"callIds": ["7782342274025937895", "7782342274025937913", "1"]},
                "contentSelector": {"context": "Extended",
                                    "exposedFields": {"content": {"trackers": true}}}
            })))
            .expect("found");
        assert_eq!(
            ids(&page),
            ["7782342274025937913", "7782342274025937895"],
            "oldest first; unknown ids are left out"
        );
        assert_eq!(page["records"]["totalRecords"], 2);
        assert!(page["records"].get("cursor").is_none(), "one page only");
        let call = &page["calls"][1];
        assert_eq!(
            call["content"]["trackers"][0]["phrases"][0]["phrase"],
            "Clari"
        );
        assert_eq!(
            call["context"][0]["objects"][1]["fields"][0]["name"],
            "Name"
        );
        assert!(call.get("parties").is_none(), "parties were not asked for");

        let basic = api
            .answer(&request(json!({
                "filter": {"callIds": ["7782342274025937895"]},
                "contentSelector": {"context": "Basic"}
            })))
            .expect("found");
        let object = &basic["calls"][0]["context"][0]["objects"][1];
        assert_eq!(object["objectId"], "0065g0000AcmRnwAAA");
        assert!(object.get("fields").is_none());
        assert!(basic["calls"][0].get("content").is_none());
        let bare = api
            .answer(&request(
                json!({"filter": {"callIds": ["7782342274025937895"]}}),
            ))
            .expect("found");
        assert!(bare["calls"][0].get("context").is_none());
    }

    #[test]
    fn the_date_range_includes_from_and_excludes_to() {
        let api = api(100);
        let started = api.calls[2].full["metaData"]["started"]
            .as_str()
            .expect("started")
            .to_owned();
        let page = api
            .answer(&request(json!({"filter": {"fromDateTime": started}})))
            .expect("found");
        assert_eq!(ids(&page).len(), api.calls.len() - 2);
        let page = api
            .answer(&request(json!({"filter": {"toDateTime": started}})))
            .expect("found");
        assert_eq!(ids(&page).len(), 2);
    }

    #[test]
    fn offsets_and_fractions_are_read() {
        let utc = parse_time("2026-11-20T10:00:00Z").expect("utc");
        assert_eq!(parse_time("2026-11-20T03:00:00-07:00"), Some(utc));
        assert_eq!(parse_time("2026-11-20T12:00:00+02:00"), Some(utc));
        assert!(parse_time("2026-11-20T10:00:00.5Z").is_some_and(|t| t > utc));
        assert_eq!(
            parse_time("2026-11-20T10:00:00"),
            None,
            "a zone is required"
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn pages_follow_the_cursor_with_the_same_filter_only() {
        let api = api(3);
        let all = request(json!({"filter": {"fromDateTime": "2000-01-01T00:00:00Z"}}));
        let mut seen = Vec::new();
        let mut page = api.answer(&all).expect("first page");
        assert_eq!(page["records"]["currentPageSize"], 3);
        loop {
            seen.extend(ids(&page));
            let Some(cursor) = page["records"]["cursor"].as_str().map(str::to_owned) else {
                break;
            };
            let next = request(json!({
                "cursor": cursor,
                "filter": {"fromDateTime": "2000-01-01T00:00:00Z"}
            }));
            page = api.answer(&next).expect("next page");
        }
        assert_eq!(seen.len(), api.calls.len());
        assert_eq!(page["records"]["currentPageNumber"], 2);

        let first = api.answer(&all).expect("first page");
        let cursor = first["records"]["cursor"].as_str().expect("cursor");
        let other_filter = request(json!({
            "cursor": cursor,
            "filter": {"fromDateTime": "2001-01-01T00:00:00Z"}
        }));
        let refused = api.answer(&other_filter).expect_err("another filter");
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let garbage = request(json!({"cursor": "not-a-cursor"}));
        assert_eq!(
            api.answer(&garbage).expect_err("bad cursor").status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn nothing_matching_is_a_404_and_an_empty_id_list_a_400() {
        let api = api(100);
        let none = api
            .answer(&request(json!({"filter": {"callIds": ["42"]}})))
            .expect_err("no such call");
        assert_eq!(none.status, StatusCode::NOT_FOUND);
        assert!(none.message.contains("No calls found"));
        let empty = api
            .answer(&request(json!({"filter": {"callIds": []}})))
            .expect_err("empty list");
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);
        let bad_date = api
            .answer(&request(json!({"filter": {"fromDateTime": "last week"}})))
            .expect_err("bad date");
        assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn only_the_configured_basic_credentials_are_accepted() {
        let api = api(100);
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().expect("header"));
            headers
        };
        assert!(api.authorised(&with(&format!("Basic {}", STANDARD.encode("key:secret")))));
        assert!(!api.authorised(&with(&format!("Basic {}", STANDARD.encode("key:wrong")))));
        assert!(!api.authorised(&with("Bearer key:secret")));
        assert!(!api.authorised(&HeaderMap::new()));
    }
}
