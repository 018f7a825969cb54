//! The org's REST requests that the service makes in bulk, answered before any HTTP framework:
//! the sandbox's axum API and the tests' wiremock responders both answer through these.

use axum::http::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::error::SfError;
use super::org::Org;
use super::soql;
use crate::Answer;

/// Records per sObject Collections request.
const MAX_COLLECTION_RECORDS: usize = 200;

/// A REST error answer: Salesforce's array of one error.
pub(super) fn error(status: StatusCode, error: &SfError) -> Answer {
    Answer {
        status,
        body: json!([error.rest_json()]),
    }
}

pub(super) fn json_body(body: &[u8]) -> Result<Value, SfError> {
    serde_json::from_slice(body).map_err(|error| {
        SfError::new(
            "JSON_PARSER_ERROR",
            format!("The request body is not valid JSON: {error}"),
        )
    })
}

/// `PATCH /composite/sobjects` with `body`: one result per record, in order, or a refusal
/// of the whole request.
pub fn update_collection(org: &mut Org, body: &[u8], now: OffsetDateTime) -> Answer {
    let body = match json_body(body) {
        Ok(body) => body,
        Err(refused) => return error(StatusCode::BAD_REQUEST, &refused),
    };
    let Some(records) = body["records"].as_array() else {
        return error(
            StatusCode::BAD_REQUEST,
            &SfError::new(
                "JSON_PARSER_ERROR",
                "records: a list of records is required",
            ),
        );
    };
    if records.len() > MAX_COLLECTION_RECORDS {
        return error(
            StatusCode::BAD_REQUEST,
            &SfError::new(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            ),
        );
    }
    let all_or_none = body["allOrNone"].as_bool().unwrap_or(false);
    Answer::ok(json!(org.update_collection(records, all_or_none, now)))
}

/// `GET /query?q=...`: the records the SOQL selects.
pub fn query(org: &Org, q: Option<&str>) -> Answer {
    let Some(text) = q else {
        return error(
            StatusCode::BAD_REQUEST,
            &SfError::new("MALFORMED_QUERY", "q: a SOQL query is required"),
        );
    };
    let parsed = match soql::parse(text) {
        Ok(parsed) => parsed,
        Err(problem) => {
            return error(
                StatusCode::BAD_REQUEST,
                &SfError::new("MALFORMED_QUERY", problem),
            )
        }
    };
    match org.query(&parsed) {
        Ok(records) => Answer::ok(json!({
            "totalSize": records.len(), "done": true, "records": records
        })),
        Err(refused) => error(StatusCode::BAD_REQUEST, &refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::Schema;

    #[test]
    fn a_collection_request_is_refused_whole_when_it_is_not_one() {
        let mut org = Org::open(Schema::Any);
        let now = OffsetDateTime::now_utc();
        let not_json = update_collection(&mut org, b"records=1", now);
        assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
        assert_eq!(not_json.body[0]["errorCode"], "JSON_PARSER_ERROR");
        let record = json!({"attributes": {"type": "Opportunity"}, "id": "0063t0000000000001"});
        let too_many = json!({"records": vec![record; 201]}).to_string();
        let refused = update_collection(&mut org, too_many.as_bytes(), now);
        assert_eq!(refused.body[0]["errorCode"], "EXCEEDED_ID_LIMIT");
        assert_eq!(org.writes(), 0);
    }

    #[test]
    fn a_query_answers_the_selected_records_or_malformed_query() {
        let org = Org::seeded(OffsetDateTime::now_utc());
        let found = query(
            &org,
            Some("SELECT Id FROM Opportunity WHERE Id IN ('0065g0000AcmRnwAAA')"),
        );
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(found.body["totalSize"], 1);
        assert_eq!(found.body["done"], true);
        let malformed = query(&org, Some("SELECT FROM Opportunity"));
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed.body[0]["errorCode"], "MALFORMED_QUERY");
        assert_eq!(query(&org, None).body[0]["errorCode"], "MALFORMED_QUERY");
    }
}
