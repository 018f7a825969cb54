//! The org's describe of both objects, and its picklists: values an admin changes at run
//! time change the describe and what a write may hold.

use super::*;

const ACME: &str = "0065g0000AcmRnwAAA";

fn field(describe: &Value, name: &str) -> Value {
    describe["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|field| field["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not described"))
}

fn write(org: &mut Org, value: &str) -> Result<(), String> {
    let changes = json!({"Competitors__c": value});
    org.update(
        ACME,
        changes.as_object().expect("object"),
        OffsetDateTime::now_utc(),
    )
    .map_err(|error| error.code.into_owned())
}

#[test]
fn the_org_describes_its_two_objects_only() {
    let org = Org::open(Schema::Any);
    let opportunity = org.describe("opportunity").expect("described");
    assert_eq!(opportunity["name"], "Opportunity");
    let picklist = field(&opportunity, seed::COMPETITORS_PICKLIST);
    assert_eq!(picklist["restrictedPicklist"], true);
    let rows = org.describe("OpportunityCompetitor").expect("described");
    assert_eq!(rows["label"], "Opportunity: Competitor");
    assert_eq!(rows["keyPrefix"], "00J");
    assert_eq!(rows["createable"], true);
    let opportunity_id = field(&rows, "OpportunityId");
    assert_eq!(opportunity_id["referenceTo"], json!(["Opportunity"]));
    assert_eq!(opportunity_id["createable"], true);
    assert_eq!(opportunity_id["updateable"], false);
    assert_eq!(opportunity_id["nillable"], false);
    let name = field(&rows, "CompetitorName");
    assert_eq!(
        (&name["type"], &name["length"]),
        (&json!("combobox"), &json!(40))
    );
    assert_eq!(name["picklistValues"], json!([]));
    assert_eq!(field(&rows, "Strengths")["length"], 1000);
    assert_eq!(field(&rows, "Weaknesses")["type"], "textarea");
    assert_eq!(field(&rows, "CreatedDate")["createable"], false);
    assert_eq!(field(&rows, "Id")["updateable"], false);
    assert_eq!(org.describe("Account"), None);
}

#[test]
fn the_standard_org_takes_active_picklist_values_only() {
    let mut org = Org::seeded(OffsetDateTime::now_utc());
    assert_eq!(write(&mut org, "Clari; Chorus"), Ok(()));
    assert_eq!(
        org.value(ACME, seed::COMPETITORS_PICKLIST),
        Some(&json!("Clari;Chorus"))
    );
    for refused in ["Wingman", "Clari;XANT", "CLARI"] {
        assert_eq!(
            write(&mut org, refused),
            Err("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST".to_owned()),
            "{refused}"
        );
    }
    assert_eq!(org.writes(), 1);
}

#[test]
fn set_picklist_changes_the_describe_and_what_a_write_may_hold() {
    let mut org = Org::seeded(OffsetDateTime::now_utc());
    org.set_picklist("Competitors__c", &["Clari", "Wingman"])
        .expect("a picklist");
    let values = field(
        &org.describe("Opportunity").expect("described"),
        seed::COMPETITORS_PICKLIST,
    )["picklistValues"]
        .clone();
    let active: Vec<&str> = values
        .as_array()
        .into_iter()
        .flatten()
        .filter(|value| value["active"] == true)
        .filter_map(|value| value["value"].as_str())
        .collect();
    assert_eq!(active, ["Clari", "Wingman"]);
    assert_eq!(
        values.as_array().map(Vec::len),
        Some(16),
        "the rest stay, inactive"
    );
    assert_eq!(write(&mut org, "Wingman"), Ok(()));
    assert!(write(&mut org, "Chorus").is_err());
    assert_eq!(
        org.set_picklist("Name", &["x"])
            .expect_err("no picklist")
            .code,
        "INVALID_FIELD"
    );
}

#[test]
fn an_org_with_any_schema_takes_any_picklist_value() {
    let mut org = Org::open(Schema::Any);
    assert_eq!(write(&mut org, "Wingman"), Ok(()));
}
