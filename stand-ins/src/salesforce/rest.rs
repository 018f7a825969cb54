//! The org's REST requests that the service makes in bulk (sObject Collections updates and
//! creates, SOQL) and its describes, answered before any HTTP framework: the sandbox's axum
//! API and the tests' wiremock responders both answer through these.

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
    match collection(body) {
        Ok((records, all_or_none)) => {
            Answer::ok(json!(org.update_collection(&records, all_or_none, now)))
        }
        Err(refused) => error(StatusCode::BAD_REQUEST, &refused),
    }
}

/// `POST /composite/sobjects` with `body`: creates OpportunityCompetitor rows; one result per
/// record, in order, or a refusal of the whole request.
pub fn create_collection(org: &mut Org, body: &[u8], now: OffsetDateTime) -> Answer {
    match collection(body) {
        Ok((records, all_or_none)) => {
            Answer::ok(json!(org.create_collection(&records, all_or_none, now)))
        }
        Err(refused) => error(StatusCode::BAD_REQUEST, &refused),
    }
}

/// An sObject Collections request's records and `allOrNone`, if Salesforce would take it.
fn collection(body: &[u8]) -> Result<(Vec<Value>, bool), SfError> {
    let mut body = json_body(body)?;
    let Some(Value::Array(records)) = body.get_mut("records").map(Value::take) else {
        return Err(SfError::new(
            "JSON_PARSER_ERROR",
            "records: a list of records is required",
        ));
    };
    if records.len() > MAX_COLLECTION_RECORDS {
        return Err(SfError::new(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    Ok((records, body["allOrNone"].as_bool().unwrap_or(false)))
}

/// `GET /sobjects/{object}/describe`, from the org's current schema and picklist values.
pub fn describe(org: &Org, object: &str) -> Answer {
    org.describe(object).map_or_else(
        || {
            error(
                StatusCode::NOT_FOUND,
                &SfError::new("NOT_FOUND", "The requested resource does not exist"),
            )
        },
        Answer::ok,
    )
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
    fn a_create_request_is_refused_whole_when_it_is_not_one() {
        let mut org = Org::open(Schema::Standard);
        let now = OffsetDateTime::now_utc();
        let not_json = create_collection(&mut org, b"{records", now);
        assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
        assert_eq!(not_json.body[0]["errorCode"], "JSON_PARSER_ERROR");
        let record = json!({"attributes": {"type": "OpportunityCompetitor"},
                            "OpportunityId": "0063t0000000000001", "CompetitorName": "Clari"});
        let too_many = json!({"records": vec![record.clone(); 201]}).to_string();
        let refused = create_collection(&mut org, too_many.as_bytes(), now);
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert_eq!(refused.body[0]["errorCode"], "EXCEEDED_ID_LIMIT");
        assert_eq!(org.rows_created(), 0);
        let full = json!({"allOrNone": false, "records": vec![record; 200]}).to_string();
        let created = create_collection(&mut org, full.as_bytes(), now);
        assert_eq!(created.status, StatusCode::OK);
        assert_eq!(created.body.as_array().map(Vec::len), Some(200));
        assert_eq!(org.rows_created(), 200);
    }

    #[test]
    fn a_describe_answers_the_orgs_objects_and_not_found_for_others() {
        let org = Org::open(Schema::Any);
        let found = describe(&org, "OpportunityCompetitor");
        assert_eq!(found.status, StatusCode::OK);
        assert_eq!(found.body["name"], "OpportunityCompetitor");
        let missing = describe(&org, "Lead");
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.body[0]["errorCode"], "NOT_FOUND");
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
