//! The Competitors related list: sObject Collections creates and updates of
//! OpportunityCompetitor rows, their queries, and the seeded row.

use super::*;
use crate::salesforce::soql;
use crate::synthetic;

const GLOBEX: &str = "0065g0000GlbxNBAAA";
const ACME: &str = "0065g0000AcmRnwAAA";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn row(opportunity: &str, name: &str) -> Value {
    json!({"attributes": {"type": "OpportunityCompetitor"}, "OpportunityId": opportunity,
           "CompetitorName": name})
}

/// A valid create for Acme changed by `changes`: a null removes the field, except
/// Strengths, sent as null.
fn with(changes: Value) -> Value {
    let mut record = row(ACME, "Clari");
    let fields = record.as_object_mut().expect("object");
    for (key, value) in changes.as_object().cloned().unwrap_or_default() {
        if value.is_null() && key != "Strengths" {
            fields.remove(&key);
        } else {
            fields.insert(key, value);
        }
    }
    record
}

/// The first error's status code of each result, or "ok".
fn codes(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|result| {
            result["errors"][0]["statusCode"]
                .as_str()
                .unwrap_or("ok")
                .to_owned()
        })
        .collect()
}

#[test]
fn creates_answer_new_ids_in_order_and_the_rows_join_the_list() {
    let mut org = Org::seeded(now());
    let results = org.create_collection(&[row(ACME, "Clari"), row(ACME, "Chorus")], false, now());
    let ids: Vec<&str> = results.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{results:?}");
    assert!(ids.iter().all(|id| id.len() == 18 && id.starts_with("00J")));
    assert_ne!(ids[0], ids[1]);
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[0]["errors"], json!([]));
    let rows = org.competitor_rows(&ACME[..15]);
    let names: Vec<&str> = rows.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(names, ["Clari", "Chorus"]);
    assert!(rows.iter().all(|row| row.created_by_api));
    assert_eq!(rows[0].id, ids[0]);
    assert_eq!(org.rows_created(), 2);
    assert_eq!(org.writes(), 0, "rows are not Opportunity writes");
}

#[test]
fn each_refused_create_has_salesforces_code() {
    let mut org = Org::seeded(now());
    let records = [
        with(json!({"attributes": {}})),
        with(json!({"attributes": {"type": "Opportunity"}})),
        with(json!({"Id": "00J5g0000000001AAA"})),
        with(json!({"Rank__c": "1"})),
        with(json!({"OpportunityId": null})),
        with(json!({"OpportunityId": "006-not-an-id"})),
        with(json!({"OpportunityId": "0015g0000AcmeCoAAA"})),
        with(json!({"OpportunityId": "0065g0000Nope00AAA"})),
        with(json!({"CompetitorName": ""})),
        with(json!({"CompetitorName": "é".repeat(41)})),
        with(json!({"Weaknesses": "x".repeat(1001)})),
        with(json!({"CompetitorName": "é".repeat(40), "Strengths": null})),
    ];
    let results = org.create_collection(&records, false, now());
    assert_eq!(
        codes(&results),
        [
            "INVALID_TYPE",
            "INVALID_TYPE",
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "INVALID_FIELD",
            "REQUIRED_FIELD_MISSING",
            "INVALID_CROSS_REFERENCE_KEY",
            "INVALID_CROSS_REFERENCE_KEY",
            "INVALID_CROSS_REFERENCE_KEY",
            "REQUIRED_FIELD_MISSING",
            "STRING_TOO_LONG",
            "STRING_TOO_LONG",
            "ok",
        ]
    );
    assert_eq!(
        results[0]["errors"][0]["message"],
        "Must specify a type in the attributes"
    );
    assert_eq!(
        results[2]["errors"][0]["message"],
        "cannot specify Id in an insert call"
    );
    assert_eq!(
        results[4]["errors"][0],
        json!({"statusCode": "REQUIRED_FIELD_MISSING",
               "message": "Required fields are missing: [OpportunityId]",
               "fields": ["OpportunityId"]})
    );
    assert_eq!(results[8]["errors"][0]["fields"], json!(["CompetitorName"]));
    assert_eq!(results[3]["id"], Value::Null);
    assert_eq!(org.rows_created(), 1, "40 characters fit");
}

#[test]
fn all_or_none_creates_nothing_when_one_record_fails() {
    let mut org = Org::open(Schema::Any);
    let opportunity = synthetic::opportunity_id(1);
    let records = [row(&opportunity, "Clari"), row(&opportunity, "")];
    let results = org.create_collection(&records, true, now());
    assert_eq!(
        codes(&results),
        [
            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "REQUIRED_FIELD_MISSING"
        ]
    );
    assert!(org.competitor_rows(&opportunity).is_empty());
    assert_eq!(org.rows_created(), 0);
}

#[test]
fn scripted_create_failures_answer_the_next_creates_for_an_opportunity() {
    let mut org = Org::open(Schema::Standard);
    let (first, second) = (synthetic::opportunity_id(1), synthetic::opportunity_id(2));
    org.fail_next_create(
        &first,
        SfError::new("UNABLE_TO_LOCK_ROW", "locked (scripted)"),
        1,
    );
    let records = [row(&first, "Clari"), row(&second, "Clari")];
    let results = org.create_collection(&records, false, now());
    assert_eq!(codes(&results), ["UNABLE_TO_LOCK_ROW", "ok"]);
    let again = org.create_collection(&records[..1], false, now());
    assert_eq!(codes(&again), ["ok"]);
    assert_eq!(org.rows_created(), 2);
}

#[test]
fn rows_are_queried_by_their_opportunity_in_either_id_form() {
    let mut org = Org::seeded(now());
    org.create_collection(&[row(&ACME[..15], "Clari")], false, now());
    let query = soql::parse(&format!(
        "SELECT Id, OpportunityId, CompetitorName FROM OpportunityCompetitor WHERE OpportunityId IN ('{ACME}', '{}')",
        &GLOBEX[..15]
    ))
    .expect("parsed");
    let rows = org.query(&query).expect("answered");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let seeded = &rows[0];
    assert_eq!(seeded["OpportunityId"], GLOBEX);
    assert_eq!(seeded["CompetitorName"], "Outreach");
    let id = seeded["Id"].as_str().expect("id");
    assert_eq!(
        seeded["attributes"],
        json!({"type": "OpportunityCompetitor",
               "url": format!("/services/data/v62.0/sobjects/OpportunityCompetitor/{id}")})
    );
    assert_eq!(rows[1]["OpportunityId"], &ACME[..15], "as sent");
    let by_id = soql::parse(&format!(
        "SELECT CompetitorName FROM OpportunityCompetitor WHERE Id = '{}'",
        &id[..15]
    ))
    .expect("parsed");
    assert_eq!(org.query(&by_id).expect("answered").len(), 1);
    let unknown = soql::parse("SELECT Rank FROM OpportunityCompetitor").expect("parsed");
    assert_eq!(
        org.query(&unknown).expect_err("no such").code,
        "INVALID_FIELD"
    );
    let on_opportunity = soql::parse(&format!(
        "SELECT Id FROM Opportunity WHERE OpportunityId = '{ACME}'"
    ))
    .expect("parsed");
    assert_eq!(
        org.query(&on_opportunity).expect_err("not a field").code,
        "INVALID_FIELD"
    );
}

#[test]
fn the_seeded_globex_row_is_a_persons() {
    let org = Org::seeded(now());
    let rows = org.competitor_rows(GLOBEX);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "Outreach");
    assert_eq!(
        rows[0].strengths.as_deref(),
        Some("Sequencing; large install base")
    );
    assert!(!rows[0].created_by_api);
    assert_eq!(org.rows_created(), 0);
    assert!(org.competitor_rows(ACME).is_empty());
    assert_eq!(
        org.value(GLOBEX, seed::COMPETITORS_PICKLIST),
        Some(&json!("Outreach"))
    );
}

#[test]
fn a_row_update_changes_its_text_but_never_its_opportunity() {
    let mut org = Org::open(Schema::Any);
    let opportunity = synthetic::opportunity_id(3);
    let id = org.add_competitor_row(&opportunity, "Clari", None);
    let update = |fields: Value| {
        let mut record = fields;
        record["attributes"] = json!({"type": "OpportunityCompetitor"});
        record["id"] = json!(id);
        record
    };
    let records = [
        update(json!({"OpportunityId": synthetic::opportunity_id(4)})),
        update(json!({"Strengths": "Forecasting"})),
        json!({"attributes": {"type": "OpportunityCompetitor"}, "id": "00J5g9999999999AAA",
               "Strengths": "x"}),
    ];
    let results = org.update_collection(&records, false, now());
    assert_eq!(
        codes(&results),
        [
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "ok",
            "INVALID_CROSS_REFERENCE_KEY"
        ]
    );
    assert_eq!(results[1]["id"], id.as_str());
    let rows = org.competitor_rows(&opportunity);
    assert_eq!(rows[0].strengths.as_deref(), Some("Forecasting"));
    assert_eq!(org.row_updates(), 1);
    org.delete_row(&id).expect("deleted");
    assert_eq!(org.row_updates(), 2);
    assert!(org.competitor_rows(&opportunity).is_empty());
    assert_eq!(org.delete_row(&id).expect_err("gone").code, "NOT_FOUND");
}
