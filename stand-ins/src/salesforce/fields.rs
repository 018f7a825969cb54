//! The Opportunity's fields, its describe, and the checks Salesforce makes on every write
//! (field names, updateability, types, lengths).

use serde_json::{json, Map, Value};

use super::error::SfError;
use super::OBJECT;
use crate::seed;

pub(super) const ID: &str = "Id";
pub(super) const LAST_MODIFIED: &str = "LastModifiedDate";

struct FieldSpec {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    /// Characters, for text types; 0 otherwise.
    length: usize,
    updateable: bool,
}

const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: ID,
        label: "Opportunity ID",
        kind: "id",
        length: 18,
        updateable: false,
    },
    FieldSpec {
        name: "Name",
        label: "Name",
        kind: "string",
        length: 120,
        updateable: true,
    },
    FieldSpec {
        name: "StageName",
        label: "Stage",
        kind: "picklist",
        length: 255,
        updateable: true,
    },
    FieldSpec {
        name: "Amount",
        label: "Amount",
        kind: "currency",
        length: 0,
        updateable: true,
    },
    FieldSpec {
        name: "CloseDate",
        label: "Close Date",
        kind: "date",
        length: 0,
        updateable: true,
    },
    FieldSpec {
        name: seed::MAIN_COMPETITORS,
        label: "Main Competitors",
        kind: "string",
        length: 255,
        updateable: true,
    },
    FieldSpec {
        name: LAST_MODIFIED,
        label: "Last Modified Date",
        kind: "datetime",
        length: 0,
        updateable: false,
    },
];

/// Which fields an org's Opportunities have, and so what a read or a write may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// A standard Opportunity ([`Schema::describe`]): unknown names, read-only fields,
    /// wrong types and over-long text are refused as Salesforce refuses them.
    Standard,
    /// Any field, any value, names as sent: for tests, which give the service a describe of
    /// their own and check what it sends rather than what the org would make of it.
    Any,
}

/// Validated changes to one record: field names (canonical with [`Schema::Standard`]) and
/// their new values.
pub(super) type Changes = Vec<(String, Value)>;

impl Schema {
    /// `GET /sobjects/Opportunity/describe` of the standard schema.
    pub fn describe() -> Value {
        let fields: Vec<Value> = FIELDS
            .iter()
            .map(|field| {
                json!({
                    "name": field.name,
                    "label": field.label,
                    "type": field.kind,
                    "length": field.length,
                    "byteLength": field.length * 3,
                    "updateable": field.updateable,
                    "createable": field.updateable,
                    "custom": field.name.ends_with("__c"),
                    "nillable": !matches!(field.name, ID | "Name" | "StageName" | "CloseDate" | LAST_MODIFIED),
                })
            })
            .collect();
        json!({
            "name": OBJECT, "label": "Opportunity", "labelPlural": "Opportunities",
            "keyPrefix": "006", "queryable": true, "updateable": true, "fields": fields
        })
    }

    /// The field `name` as a read names it: canonical (any case accepted), or INVALID_FIELD.
    pub(super) fn field(self, name: &str) -> Result<String, SfError> {
        match self {
            Self::Standard => spec(name).map(|spec| spec.name.to_owned()),
            Self::Any => Ok(name.to_owned()),
        }
    }

    /// The fields a read that names none returns, beside those a record holds.
    pub(super) fn all_fields(self) -> Vec<String> {
        match self {
            Self::Standard => FIELDS.iter().map(|spec| spec.name.to_owned()).collect(),
            Self::Any => Vec::new(),
        }
    }

    /// The changes with canonical field names, if every one may be written as sent.
    pub(super) fn validate(self, changes: &Map<String, Value>) -> Result<Changes, SfError> {
        let changes = changes.iter().filter(|(name, _)| *name != "attributes");
        match self {
            Self::Standard => changes.map(|(name, value)| checked(name, value)).collect(),
            Self::Any => Ok(changes
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()),
        }
    }
}

/// The described field `name` (any case), or INVALID_FIELD.
fn spec(name: &str) -> Result<&'static FieldSpec, SfError> {
    FIELDS
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            SfError::on_field(
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {OBJECT}"),
                name,
            )
        })
}

/// A change to a described field, with its canonical name, if Salesforce would take it.
fn checked(name: &str, value: &Value) -> Result<(String, Value), SfError> {
    let spec = spec(name)?;
    if !spec.updateable {
        return Err(SfError::on_field(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                spec.name
            ),
            spec.name,
        ));
    }
    let type_ok = matches!(
        (spec.kind, value),
        (_, Value::Null)
            | (
                "string" | "picklist" | "textarea" | "date",
                Value::String(_)
            )
            | ("currency", Value::Number(_))
    );
    if !type_ok {
        return Err(SfError::on_field(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            format!("{}: value not of required type: {value}", spec.label),
            spec.name,
        ));
    }
    if let Value::String(text) = value {
        if spec.length > 0 && text.chars().count() > spec.length {
            return Err(SfError::on_field(
                "STRING_TOO_LONG",
                format!(
                    "{}: data value too large: {text} (max length={})",
                    spec.label, spec.length
                ),
                spec.name,
            ));
        }
    }
    Ok((spec.name.to_owned(), value.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: Value) -> String {
        let changes = change.as_object().cloned().expect("object");
        Schema::Standard
            .validate(&changes)
            .expect_err("refused")
            .code
            .into_owned()
    }

    #[test]
    fn the_standard_schema_checks_names_updateability_types_and_length() {
        let changes =
            json!({"attributes": {"type": "Opportunity"}, "main_competitors__c": "Clari"});
        assert_eq!(
            Schema::Standard.validate(changes.as_object().expect("object")),
            Ok(vec![(seed::MAIN_COMPETITORS.to_owned(), json!("Clari"))]),
            "the canonical name; attributes are not a field"
        );
        assert_eq!(refused(json!({"Competitors__c": "x"})), "INVALID_FIELD");
        assert_eq!(
            refused(json!({"LastModifiedDate": "x"})),
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(
            refused(json!({"Main_Competitors__c": 7})),
            "INVALID_TYPE_ON_FIELD_IN_RECORD"
        );
        assert_eq!(
            refused(json!({"Main_Competitors__c": "x".repeat(256)})),
            "STRING_TOO_LONG"
        );
    }

    #[test]
    fn any_takes_every_field_as_sent() {
        let changes = json!({"Pricing_Terms__c": "net 30", "Whatever": 7});
        let taken = Schema::Any
            .validate(changes.as_object().expect("object"))
            .expect("taken");
        assert_eq!(taken.len(), 2);
        assert_eq!(Schema::Any.field("whatever"), Ok("whatever".to_owned()));
        assert_eq!(
            Schema::Standard.field("stagename"),
            Ok("StageName".to_owned())
        );
    }

    #[test]
    fn the_describe_lists_every_field_with_its_type_and_length() {
        let describe = Schema::describe();
        let competitors = describe["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|field| field["name"] == seed::MAIN_COMPETITORS)
            .expect("described");
        assert_eq!(competitors["type"], "string");
        assert_eq!(competitors["length"], 255);
        assert_eq!(competitors["updateable"], true);
    }
}
