//! Filters, pages and the content selector, over the seeded calls.

use time::OffsetDateTime;

use super::*;
use crate::seed;

fn api(page_size: usize) -> Calls {
    Calls::new(seed::calls(OffsetDateTime::now_utc()), page_size)
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
fn a_call_added_again_replaces_the_first_and_an_id_asked_twice_is_answered_once() {
    let mut calls = Calls::default();
    let opportunity = crate::synthetic::opportunity_id(1);
    calls.add(crate::synthetic::call(1, &opportunity, &["Clari"]));
    calls.add(crate::synthetic::call(1, &opportunity, &["Chorus"]));
    let id = crate::synthetic::call_id(1);
    let body = json!({
        "filter": {"callIds": [id, id]},
        "contentSelector": {"exposedFields": {"content": {"trackers": true}}}
    });
    let answer = calls.respond(body.to_string().as_bytes());
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["records"]["totalRecords"], 1);
    assert_eq!(
        answer.body["calls"][0]["content"]["trackers"][0]["phrases"][0]["phrase"],
        "Chorus"
    );
}

#[test]
fn refusals_have_gongs_error_shape() {
    let calls = api(100);
    let unknown = calls.respond(br#"{"filter": {"callIds": ["42"]}}"#);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.body["errors"],
        json!(["No calls found corresponding to the provided filters"])
    );
    assert!(unknown.body["requestId"].is_string());
    let garbage = calls.respond(b"callIds=42");
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(garbage.body["errors"][0]
        .as_str()
        .is_some_and(|message| message.starts_with("The request body is not valid")));
}

#[test]
fn occurrences_come_only_when_tracker_occurrences_asks_for_them() {
    let api = api(100);
    let asked = |occurrences: bool| {
        api.answer(&request(json!({
            "filter": {"callIds": ["7782342274025937895"]},
            "contentSelector": {"exposedFields": {"parties": true, "content": {
                "trackers": true, "trackerOccurrences": occurrences}}}
        })))
        .expect("found")
    };
    let with = asked(true);
    let tracker = &with["calls"][0]["content"]["trackers"][0];
    assert!(tracker["occurrences"].is_array());
    assert!(tracker["phrases"][0]["occurrences"][0]["speakerId"].is_string());
    assert!(with["calls"][0]["parties"][0]["affiliation"].is_string());
    let without = asked(false);
    let tracker = &without["calls"][0]["content"]["trackers"][0];
    assert!(tracker.get("occurrences").is_none());
    assert!(tracker["phrases"][0].get("occurrences").is_none());
    assert_eq!(tracker["phrases"][0]["phrase"], "Clari");
}

#[test]
fn transcripts_are_answered_per_call_and_never_inside_the_extensive_answer() {
    let mut api = api(1);
    api.add(json!({
        "metaData": {"id": "42", "started": "2026-01-01T10:00:00Z"},
        "transcript": [{"speakerId": "7", "topic": null,
                        "sentences": [{"start": 0, "end": 1200, "text": "We use Clari."}]}]
    }));
    let body = |value: Value| serde_json::to_vec(&value).expect("json");
    let first = api.respond_transcripts(&body(
        json!({"filter": {"callIds": ["42", "7782342274025937895"]}}),
    ));
    assert!(first.status.is_success());
    let page = &first.body;
    let cursor = page["records"]["cursor"].as_str().expect("a second page");
    let second = api.respond_transcripts(&body(json!({
        "cursor": cursor, "filter": {"callIds": ["42", "7782342274025937895"]}
    })));
    let transcripts: Vec<&Value> = [page, &second.body]
        .iter()
        .flat_map(|p| p["callTranscripts"].as_array().into_iter().flatten())
        .collect();
    let ours = transcripts
        .iter()
        .find(|t| t["callId"] == "42")
        .expect("call 42");
    assert_eq!(
        ours["transcript"][0]["sentences"][0]["text"],
        "We use Clari."
    );
    let missing = api.respond_transcripts(&body(json!({"filter": {"callIds": ["1"]}})));
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let listed = api
        .answer(&request(json!({"filter": {"callIds": ["42"]},
            "contentSelector": {"exposedFields": {"content": {"trackers": true}}}})))
        .expect("found");
    assert!(listed["calls"][0].get("transcript").is_none());
}
