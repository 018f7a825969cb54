//! The org's reads, writes and queries, with the standard schema (seeded) and open.

use super::*;
use crate::salesforce::soql;
use crate::synthetic;

const ACME: &str = "0065g0000AcmRnwAAA";
const GLOBEX: &str = "0065g0000GlbxNBAAA";

fn org() -> Org {
    Org::seeded(OffsetDateTime::now_utc())
}

fn changes(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("object")
}

fn competitors(org: &Org, id: &str) -> Value {
    org.read(id, None).expect("record")[seed::MAIN_COMPETITORS].clone()
}

#[test]
fn a_record_is_found_by_either_id_form_and_read_with_the_fields_asked_for() {
    let org = org();
    let short = &ACME[..15];
    let record = org
        .read(short, Some(&["main_competitors__c".to_owned()]))
        .expect("found by the 15-character id");
    assert_eq!(record["attributes"]["type"], "Opportunity");
    assert!(
        record.get(seed::MAIN_COMPETITORS).is_some(),
        "canonical name"
    );
    assert!(record.get("Name").is_none(), "only the fields asked for");
    assert_eq!(
        org.read("0065g0000Nope00AAA", None)
            .expect_err("no such")
            .code,
        "NOT_FOUND"
    );
    assert_eq!(
        org.read("006/../x", None).expect_err("bad").code,
        "MALFORMED_ID"
    );
}

#[test]
fn a_patch_checks_names_updateability_types_and_length() {
    let mut org = org();
    let now = OffsetDateTime::now_utc();
    org.update(
        ACME,
        &changes(json!({"Main_Competitors__c": "Clari, Chorus"})),
        now,
    )
    .expect("written");
    assert_eq!(competitors(&org, ACME), "Clari, Chorus");
    assert_eq!(org.records()[0].writes, 1);

    let refused = |org: &mut Org, body: Value| {
        org.update(ACME, &changes(body), now)
            .expect_err("refused")
            .code
    };
    assert_eq!(
        refused(&mut org, json!({"Competitor__c": "x"})),
        "INVALID_FIELD"
    );
    assert_eq!(
        refused(&mut org, json!({"LastModifiedDate": "x"})),
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    );
    assert_eq!(
        refused(&mut org, json!({"Main_Competitors__c": 7})),
        "INVALID_TYPE_ON_FIELD_IN_RECORD"
    );
    assert_eq!(
        refused(&mut org, json!({"Main_Competitors__c": "x".repeat(256)})),
        "STRING_TOO_LONG"
    );
    assert_eq!(
        competitors(&org, ACME),
        "Clari, Chorus",
        "refusals change nothing"
    );
}

#[test]
fn a_collection_update_succeeds_or_fails_per_record() {
    let mut org = org();
    let now = OffsetDateTime::now_utc();
    let records = [
        json!({"attributes": {"type": "Opportunity"}, "id": ACME, "Main_Competitors__c": "Clari"}),
        json!({"attributes": {"type": "Opportunity"}, "id": "0065g0000Nope00AAA", "Main_Competitors__c": "x"}),
        json!({"attributes": {"type": "Opportunity"}, "id": GLOBEX, "Main_Competitors__c": "x".repeat(300)}),
    ];
    let results = org.update_collection(&records, false, now);
    assert_eq!(
        results[0],
        json!({"id": ACME, "success": true, "errors": []})
    );
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_CROSS_REFERENCE_KEY"
    );
    assert_eq!(results[2]["errors"][0]["statusCode"], "STRING_TOO_LONG");
    assert_eq!(results[2]["id"], GLOBEX);
    assert_eq!(competitors(&org, ACME), "Clari");
    assert_eq!(competitors(&org, GLOBEX), "Outreach");
}

#[test]
fn all_or_none_rolls_back_the_valid_records_too() {
    let mut org = org();
    let records = [
        json!({"attributes": {"type": "Opportunity"}, "id": ACME, "Main_Competitors__c": "Clari"}),
        json!({"attributes": {"type": "Account"}, "id": GLOBEX, "Name": "x"}),
    ];
    let results = org.update_collection(&records, true, OffsetDateTime::now_utc());
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(results[1]["errors"][0]["statusCode"], "INVALID_TYPE");
    assert_eq!(competitors(&org, ACME), Value::Null);
}

#[test]
fn a_query_selects_by_id_in_either_form() {
    let org = org();
    let query = soql::parse(&format!(
        "SELECT Id, Main_Competitors__c FROM Opportunity WHERE Id IN ('{}', '{GLOBEX}', '0065g0000Nope00AAA')",
        &ACME[..15]
    ))
    .expect("parsed");
    let records = org.query(&query).expect("answered");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["Id"], ACME, "answers carry the 18-character id");
    assert_eq!(records[1][seed::MAIN_COMPETITORS], "Outreach");
    let unknown = soql::parse("SELECT Competitors FROM Opportunity").expect("parsed");
    assert_eq!(
        org.query(&unknown).expect_err("no such field").code,
        "INVALID_FIELD"
    );
    let other = soql::parse("SELECT Id FROM Lead").expect("parsed");
    assert_eq!(
        org.query(&other).expect_err("no such object").code,
        "INVALID_TYPE"
    );
    let everything = soql::parse("SELECT Id FROM Opportunity LIMIT 3").expect("parsed");
    assert_eq!(org.query(&everything).expect("answered").len(), 3);
}

#[test]
fn datetimes_have_salesforces_form() {
    let at = OffsetDateTime::from_unix_timestamp(1_763_912_345).expect("time");
    assert_eq!(salesforce_datetime(at), "2025-11-23T15:39:05.000+0000");
}

#[test]
fn in_an_open_org_every_id_is_a_record_empty_until_written() {
    let mut org = Org::open(Schema::Any);
    let (first, second) = (synthetic::opportunity_id(1), synthetic::opportunity_id(2));
    assert_eq!(
        &first[..15],
        &second[..15],
        "synthetic ids share their first 15"
    );
    let query = soql::parse(&format!(
        "SELECT Id, Main_Competitors__c FROM Opportunity WHERE Id IN ('{first}', '{second}')"
    ))
    .expect("parsed");
    let before = org.query(&query).expect("answered");
    assert_eq!(before.len(), 2);
    assert_eq!(before[1]["Id"], second.as_str());
    assert_eq!(before[1][seed::MAIN_COMPETITORS], Value::Null);

    let records = [json!({"attributes": {"type": "Opportunity"}, "id": second,
                          "Main_Competitors__c": "Clari", "Pricing_Terms__c": "net 30"})];
    let results = org.update_collection(&records, false, OffsetDateTime::now_utc());
    assert_eq!(results[0]["success"], true, "{results:?}");
    assert_eq!(
        org.value(&second, seed::MAIN_COMPETITORS),
        Some(&json!("Clari"))
    );
    assert_eq!(org.value(&first, seed::MAIN_COMPETITORS), None);
    assert_eq!((org.writes(), org.written()), (1, 1));
    let after = org.query(&query).expect("answered");
    assert_eq!(after[0]["Id"], second.as_str(), "written records first");
    assert_eq!(after[0][seed::MAIN_COMPETITORS], "Clari");
}

#[test]
fn scripted_failures_answer_the_next_writes_of_a_record_then_it_is_written() {
    let mut org = Org::open(Schema::Any);
    let id = synthetic::opportunity_id(7);
    org.set(&id, seed::MAIN_COMPETITORS, json!("Incumbent"))
        .expect("seeded");
    org.fail_next(
        &id,
        SfError::new("UNABLE_TO_LOCK_ROW", "locked (scripted)"),
        2,
    );
    let record = [json!({"attributes": {"type": "Opportunity"}, "id": id,
                         "Main_Competitors__c": "Clari"})];
    let now = OffsetDateTime::now_utc();
    for _ in 0..2 {
        let results = org.update_collection(&record, false, now);
        assert_eq!(
            results[0],
            json!({"id": id, "success": false, "errors": [
                {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked (scripted)", "fields": []}
            ]})
        );
    }
    assert_eq!(org.writes(), 0, "seeding is not a write");
    assert_eq!(
        org.value(&id, seed::MAIN_COMPETITORS),
        Some(&json!("Incumbent"))
    );
    let results = org.update_collection(&record, false, now);
    assert_eq!(results[0]["success"], true);
    assert_eq!(
        org.value(&id, seed::MAIN_COMPETITORS),
        Some(&json!("Clari"))
    );
}

#[test]
fn a_seeded_org_knows_only_its_records() {
    let mut org = org();
    let unknown = synthetic::opportunity_id(1);
    assert_eq!(
        org.set(&unknown, seed::MAIN_COMPETITORS, json!("x"))
            .expect_err("not seeded")
            .code,
        "NOT_FOUND"
    );
    assert_eq!(org.records().len(), seed::OPPORTUNITIES.len());
    let near_miss = format!("{}XXX", &ACME[..15]);
    assert_eq!(
        org.read(&near_miss, None)
            .expect_err("another 18-character id")
            .code,
        "NOT_FOUND"
    );
}
