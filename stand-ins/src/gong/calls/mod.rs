//! Calls as Gong's `POST /v2/calls/extensive` ("List call data by date or call IDs") answers
//! them: the `callIds`, date and workspace filters, oldest first, cursor pages, and the
//! content selector's parts of each call.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{error_body, request_id};
use crate::Answer;

/// Gong's page size: calls per answer.
pub const MAX_PAGE_SIZE: usize = 100;

/// The calls a Gong account holds, in Gong's full shape (Extended context, parties,
/// trackers), as [`crate::seed::calls`] and [`crate::synthetic::call`] build them.
pub struct Calls {
    /// In the order they were added; a call added again replaces the earlier one.
    calls: Vec<StoredCall>,
    by_id: HashMap<String, usize>,
    page_size: usize,
}

struct StoredCall {
    id: String,
    started: SystemTime,
    workspace_id: String,
    full: Value,
    /// What `/v2/calls/transcript` answers for the call: its monologues.
    transcript: Value,
}

/// Why a request gets no calls: the status and Gong's `errors` text.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn into_answer(self) -> Answer {
        if self.status == StatusCode::BAD_REQUEST {
            tracing::warn!(reason = %self.message, "Gong: bad request");
        }
        Answer {
            status: self.status,
            body: error_body(&self.message),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallsRequest {
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
#[serde(rename_all = "camelCase")]
struct ContentFields {
    #[serde(default)]
    trackers: bool,
    /// Each tracker's and phrase's `occurrences` (when and by which speaker), only together
    /// with `trackers`.
    #[serde(default)]
    tracker_occurrences: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ContextLevel {
    None,
    Basic,
    Extended,
}

impl Default for Calls {
    fn default() -> Self {
        Self::new(Vec::new(), MAX_PAGE_SIZE)
    }
}

impl Calls {
    /// `calls` answered `page_size` (at most 100) to a page.
    pub fn new(calls: Vec<Value>, page_size: usize) -> Self {
        let mut all = Self {
            calls: Vec::new(),
            by_id: HashMap::new(),
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
        };
        for call in calls {
            all.add(call);
        }
        all
    }

    /// Adds `call` (found by its `metaData.id`), or replaces the call with that id. The
    /// call's `transcript` (monologues as `/v2/calls/transcript` has them), when it has one,
    /// is kept apart: the extensive answer never carries it.
    pub fn add(&mut self, mut full: Value) {
        let transcript = full
            .as_object_mut()
            .and_then(|fields| fields.remove("transcript"))
            .unwrap_or_else(|| json!([]));
        let meta = &full["metaData"];
        let call = StoredCall {
            id: meta["id"].as_str().unwrap_or_default().to_owned(),
            started: meta["started"]
                .as_str()
                .and_then(parse_time)
                .unwrap_or(SystemTime::UNIX_EPOCH),
            workspace_id: meta["workspaceId"].as_str().unwrap_or_default().to_owned(),
            full,
            transcript,
        };
        match self.by_id.get(&call.id) {
            Some(&index) => self.calls[index] = call,
            None => {
                self.by_id.insert(call.id.clone(), self.calls.len());
                self.calls.push(call);
            }
        }
    }

    /// The answer to a request body: a page of calls, or Gong's error.
    pub fn respond(&self, body: &[u8]) -> Answer {
        let answer = serde_json::from_slice(body)
            .map_err(|error| {
                Failure::bad_request(format!("The request body is not valid: {error}"))
            })
            .and_then(|request| self.answer(&request));
        match answer {
            Ok(page) => Answer::ok(page),
            Err(refused) => refused.into_answer(),
        }
    }

    /// One page of the calls matching the request, or Gong's 400 or 404.
    fn answer(&self, request: &CallsRequest) -> Result<Value, Failure> {
        let context = context_level(&request.content_selector)?;
        let (page, records) = self.page(&request.filter, request.cursor.as_deref())?;
        let calls: Vec<Value> = page
            .iter()
            .map(|call| shape(call, context, &request.content_selector))
            .collect();
        Ok(json!({ "requestId": request_id(), "records": records, "calls": calls }))
    }

    /// The page of calls the filter and cursor select, and its `records` (with the next
    /// page's cursor), or Gong's 400 or 404.
    fn page(
        &self,
        filter: &Filter,
        cursor: Option<&str>,
    ) -> Result<(Vec<&StoredCall>, Value), Failure> {
        if filter.call_ids.as_ref().is_some_and(Vec::is_empty) {
            return Err(Failure::bad_request("filter.callIds must not be empty"));
        }
        let from = bound("fromDateTime", filter.from_date_time.as_deref())?;
        let to = bound("toDateTime", filter.to_date_time.as_deref())?;
        let matching = self.matching(filter, from, to);
        if matching.is_empty() {
            return Err(Failure {
                status: StatusCode::NOT_FOUND,
                message: "No calls found corresponding to the provided filters".into(),
            });
        }
        let fingerprint = filter_fingerprint(filter);
        let offset = match cursor {
            Some(cursor) => decode_cursor(cursor, &fingerprint)?,
            None => 0,
        };
        let total = matching.len();
        let page: Vec<&StoredCall> = matching
            .into_iter()
            .skip(offset)
            .take(self.page_size)
            .collect();
        let mut records = json!({
            "totalRecords": total,
            "currentPageSize": page.len(),
            "currentPageNumber": offset / self.page_size,
        });
        if offset + page.len() < total {
            records["cursor"] = json!(encode_cursor(offset + page.len(), &fingerprint));
        }
        Ok((page, records))
    }

    /// The calls the filter selects, oldest first (in the order added when they started
    /// together).
    fn matching(
        &self,
        filter: &Filter,
        from: Option<SystemTime>,
        to: Option<SystemTime>,
    ) -> Vec<&StoredCall> {
        let mut indexes: Vec<usize> = match &filter.call_ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.by_id.get(id).copied())
                .collect(),
            None => (0..self.calls.len()).collect(),
        };
        indexes.sort_unstable_by_key(|&index| (self.calls[index].started, index));
        indexes.dedup();
        indexes
            .into_iter()
            .map(|index| &self.calls[index])
            // Gong: calls that started on or after fromDateTime and before toDateTime.
            .filter(|call| from.is_none_or(|from| call.started >= from))
            .filter(|call| to.is_none_or(|to| call.started < to))
            .filter(|call| {
                filter
                    .workspace_id
                    .as_ref()
                    .is_none_or(|workspace| *workspace == call.workspace_id)
            })
            .collect()
    }
}

fn context_level(selector: &ContentSelector) -> Result<ContextLevel, Failure> {
    match selector.context.as_deref() {
        None | Some("None") => Ok(ContextLevel::None),
        Some("Basic") => Ok(ContextLevel::Basic),
        Some("Extended") => Ok(ContextLevel::Extended),
        Some(other) => Err(Failure::bad_request(format!(
            "contentSelector.context: `{other}` is not one of None, Basic, Extended"
        ))),
    }
}

/// The parts of a call the content selector asks for.
fn shape(call: &StoredCall, context: ContextLevel, selector: &ContentSelector) -> Value {
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
    let content = &selector.exposed_fields.content;
    if content.trackers {
        let mut trackers = call.full["content"]["trackers"].clone();
        if !content.tracker_occurrences {
            strip_occurrences(&mut trackers);
        }
        shaped["content"] = json!({ "trackers": trackers });
    }
    shaped
}

/// Gong sends `occurrences` only when `trackerOccurrences` asks for them.
fn strip_occurrences(trackers: &mut Value) {
    for tracker in trackers.as_array_mut().into_iter().flatten() {
        let Some(tracker) = tracker.as_object_mut() else {
            continue;
        };
        tracker.remove("occurrences");
        for phrase in tracker
            .get_mut("phrases")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            phrase.remove("occurrences");
        }
    }
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
fn parse_time(text: &str) -> Option<SystemTime> {
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
    let digest = Sha256::digest(canonical.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
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

mod transcripts;

#[cfg(test)]
mod tests;
