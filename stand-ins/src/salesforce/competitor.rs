//! The OpportunityCompetitor object, an Opportunity's Competitors related list: its fields,
//! its describe, and the checks Salesforce makes when a row is created or changed.

use serde_json::{json, Map, Value};

use super::error::SfError;
use super::fields::{self, check_value, FieldSpec, Write, ID, LAST_MODIFIED};

pub(super) const OBJECT: &str = "OpportunityCompetitor";
pub(super) const OPPORTUNITY_ID: &str = "OpportunityId";
pub(super) const NAME: &str = "CompetitorName";
pub(super) const STRENGTHS: &str = "Strengths";
pub(super) const WEAKNESSES: &str = "Weaknesses";
pub(super) const CREATED: &str = "CreatedDate";

const FIELDS: &[FieldSpec] = &[
    FieldSpec::read_only(ID, "Opportunity Competitor ID", "id", 18),
    // Set when the row is created; a row never moves to another Opportunity.
    FieldSpec {
        updateable: false,
        reference_to: Some("Opportunity"),
        ..FieldSpec::required(OPPORTUNITY_ID, "Opportunity ID", "reference", 18)
    },
    FieldSpec::required(NAME, "Competitor Name", "combobox", 40),
    FieldSpec::optional(STRENGTHS, "Strengths", "textarea", 1000),
    FieldSpec::optional(WEAKNESSES, "Weaknesses", "textarea", 1000),
    FieldSpec::read_only(CREATED, "Created Date", "datetime", 0),
    FieldSpec::read_only(LAST_MODIFIED, "Last Modified Date", "datetime", 0),
];

/// `GET /sobjects/OpportunityCompetitor/describe`.
pub(super) fn describe() -> Value {
    json!({
        "name": OBJECT, "label": "Opportunity: Competitor", "keyPrefix": "00J",
        "createable": true, "updateable": true, "deletable": true, "queryable": true,
        "fields": fields::describe_fields(FIELDS)
    })
}

/// The field `name` (any case) as a read names it, or INVALID_FIELD.
pub(super) fn field(name: &str) -> Result<&'static str, SfError> {
    fields::spec(FIELDS, OBJECT, name).map(|spec| spec.name)
}

/// Every field, for a read that names none.
pub(super) fn all_fields() -> impl Iterator<Item = &'static str> {
    FIELDS.iter().map(|spec| spec.name)
}

/// What a create or an update of a row sets; `None` where the request leaves a field alone
/// (and, inside, where it clears one).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct RowChanges {
    pub opportunity_id: Option<String>,
    pub name: Option<String>,
    pub strengths: Option<Option<String>>,
    pub weaknesses: Option<Option<String>>,
}

/// The changes a record of a create or an update makes, if Salesforce would take them.
/// `fields` are the record's without `attributes` and, for an update, without the id that
/// names the row.
pub(super) fn changes(fields: &Map<String, Value>, write: Write) -> Result<RowChanges, SfError> {
    let mut changes = RowChanges::default();
    for (name, value) in fields.iter().filter(|(name, _)| *name != "attributes") {
        if write == Write::Create && name.eq_ignore_ascii_case(ID) {
            return Err(SfError::on_field(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "cannot specify Id in an insert call",
                ID,
            ));
        }
        let spec = fields::spec(FIELDS, OBJECT, name)?;
        check_value(spec, value, write)?;
        let text = value.as_str().map(str::to_owned);
        match spec.name {
            OPPORTUNITY_ID => changes.opportunity_id = Some(required(spec, text)?),
            NAME => changes.name = Some(required(spec, text)?),
            STRENGTHS => changes.strengths = Some(text),
            WEAKNESSES => changes.weaknesses = Some(text),
            // The others are read-only, refused by `check_value`.
            _ => {}
        }
    }
    if write == Write::Create {
        for (spec_name, given) in [
            (OPPORTUNITY_ID, changes.opportunity_id.is_some()),
            (NAME, changes.name.is_some()),
        ] {
            if !given {
                return Err(missing(spec_name));
            }
        }
    }
    Ok(changes)
}

/// The value of a field no row may be without.
fn required(spec: &FieldSpec, text: Option<String>) -> Result<String, SfError> {
    // Salesforce counts a blank value as none.
    text.filter(|text| !text.trim().is_empty())
        .ok_or_else(|| missing(spec.name))
}

fn missing(field: &str) -> SfError {
    SfError::on_field(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{field}]"),
        field,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(record: Value) -> Result<RowChanges, String> {
        let fields = record.as_object().cloned().expect("object");
        changes(&fields, Write::Create).map_err(|error| error.code.into_owned())
    }

    #[test]
    fn a_create_needs_an_opportunity_and_a_name_and_no_id() {
        assert_eq!(
            create(
                json!({"attributes": {"type": OBJECT}, "opportunityid": "0063t0000000000001",
                          "CompetitorName": "Clari", "Strengths": "Forecasting"})
            ),
            Ok(RowChanges {
                opportunity_id: Some("0063t0000000000001".into()),
                name: Some("Clari".into()),
                strengths: Some(Some("Forecasting".into())),
                weaknesses: None,
            })
        );
        let refused = |record: Value| create(record).expect_err("refused");
        let opportunity = "0063t0000000000001";
        assert_eq!(
            refused(json!({"OpportunityId": opportunity})),
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(
            refused(json!({"OpportunityId": opportunity, "CompetitorName": "  "})),
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(
            refused(json!({"CompetitorName": "Clari"})),
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(
            refused(json!({"Id": "00J000000000001AAA", "CompetitorName": "Clari"})),
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(
            refused(json!({"OpportunityId": opportunity, "CompetitorName": "x".repeat(41)})),
            "STRING_TOO_LONG"
        );
        assert_eq!(
            refused(json!({"OpportunityId": opportunity, "CompetitorName": "Clari", "Rank": 1})),
            "INVALID_FIELD"
        );
    }

    #[test]
    fn an_update_may_not_move_a_row_to_another_opportunity() {
        let fields = json!({"OpportunityId": "0063t0000000000001"});
        let moved = changes(fields.as_object().expect("object"), Write::Update);
        assert_eq!(
            moved.map_err(|error| (error.code.into_owned(), error.fields)),
            Err((
                "INVALID_FIELD_FOR_INSERT_UPDATE".to_owned(),
                vec![OPPORTUNITY_ID.to_owned()]
            ))
        );
        let fields = json!({"Weaknesses": null});
        let cleared = changes(fields.as_object().expect("object"), Write::Update);
        assert_eq!(cleared.map(|changes| changes.weaknesses), Ok(Some(None)));
    }
}
