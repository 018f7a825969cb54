//! The Opportunity's fields, its describe, and the checks Salesforce makes on every write
//! (field names, updateability, types, lengths, restricted picklists); the field shape and
//! checks other objects share.

use serde_json::{json, Map, Value};

use super::error::SfError;
use super::picklist::Picklists;
use super::OBJECT;
use crate::seed;

pub(super) const ID: &str = "Id";
pub(super) const LAST_MODIFIED: &str = "LastModifiedDate";

/// A field as describe lists it, and as writes are checked against it.
pub(super) struct FieldSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    /// Characters, for text types; 0 otherwise.
    pub length: usize,
    pub createable: bool,
    pub updateable: bool,
    pub nillable: bool,
    /// The object a `reference` field points at.
    pub reference_to: Option<&'static str>,
}

impl FieldSpec {
    /// A field only Salesforce sets.
    pub(super) const fn read_only(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        length: usize,
    ) -> Self {
        Self {
            createable: false,
            updateable: false,
            nillable: false,
            ..Self::optional(name, label, kind, length)
        }
    }

    /// A field a write may set but never clear.
    pub(super) const fn required(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        length: usize,
    ) -> Self {
        Self {
            nillable: false,
            ..Self::optional(name, label, kind, length)
        }
    }

    /// A field a write may set and clear.
    pub(super) const fn optional(
        name: &'static str,
        label: &'static str,
        kind: &'static str,
        length: usize,
    ) -> Self {
        Self {
            name,
            label,
            kind,
            length,
            createable: true,
            updateable: true,
            nillable: true,
            reference_to: None,
        }
    }

    /// This field in describe's shape, with its picklist values if it has any.
    fn describe(&self, picklists: Option<&Picklists>) -> Value {
        let (values, restricted) =
            picklists.map_or((json!([]), false), |lists| lists.describe(self.name));
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.kind,
            "length": self.length,
            "byteLength": self.length * 3,
            "createable": self.createable,
            "updateable": self.updateable,
            "nillable": self.nillable,
            "custom": self.name.ends_with("__c"),
            "picklistValues": values,
            "restrictedPicklist": restricted,
            "referenceTo": self.reference_to.map_or_else(Vec::new, |object| vec![object]),
        })
    }
}

const FIELDS: &[FieldSpec] = &[
    FieldSpec::read_only(ID, "Opportunity ID", "id", 18),
    FieldSpec::required("Name", "Name", "string", 120),
    FieldSpec::required("StageName", "Stage", "picklist", 255),
    FieldSpec::optional("Amount", "Amount", "currency", 0),
    FieldSpec::required("CloseDate", "Close Date", "date", 0),
    FieldSpec::optional(seed::MAIN_COMPETITORS, "Main Competitors", "string", 255),
    FieldSpec::optional(
        seed::COMPETITORS_PICKLIST,
        "Competitors",
        "multipicklist",
        4099,
    ),
    FieldSpec::read_only(LAST_MODIFIED, "Last Modified Date", "datetime", 0),
];

/// Which fields an org's Opportunities have, and so what a read or a write may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// A standard Opportunity (the org's describe): unknown names, read-only fields, wrong
    /// types, over-long text and values a restricted picklist does not hold are refused as
    /// Salesforce refuses them.
    Standard,
    /// Any field, any value, names as sent: for tests, which give the service a describe of
    /// their own and check what it sends rather than what the org would make of it.
    Any,
}

/// Validated changes to one record: field names (canonical with [`Schema::Standard`]) and
/// their new values.
pub(super) type Changes = Vec<(String, Value)>;

/// `GET /sobjects/Opportunity/describe`, with the org's current picklist values.
pub(super) fn describe(picklists: &Picklists) -> Value {
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|field| field.describe(Some(picklists)))
        .collect();
    json!({
        "name": OBJECT, "label": "Opportunity", "labelPlural": "Opportunities",
        "keyPrefix": "006", "queryable": true, "updateable": true, "fields": fields
    })
}

/// Describe's `fields` for an object without picklists of the org's.
pub(super) fn describe_fields(fields: &[FieldSpec]) -> Vec<Value> {
    fields.iter().map(|field| field.describe(None)).collect()
}

impl Schema {
    /// The field `name` as a read names it: canonical (any case accepted), or INVALID_FIELD.
    pub(super) fn field(self, name: &str) -> Result<String, SfError> {
        match self {
            Self::Standard => spec(FIELDS, OBJECT, name).map(|spec| spec.name.to_owned()),
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
    pub(super) fn validate(
        self,
        changes: &Map<String, Value>,
        picklists: &Picklists,
    ) -> Result<Changes, SfError> {
        let changes = changes.iter().filter(|(name, _)| *name != "attributes");
        match self {
            Self::Standard => changes
                .map(|(name, value)| {
                    let spec = spec(FIELDS, OBJECT, name)?;
                    check_value(spec, value, Write::Update)?;
                    Ok((spec.name.to_owned(), picked(spec, value, picklists)?))
                })
                .collect(),
            Self::Any => Ok(changes
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()),
        }
    }
}

/// A picklist field's value as the org stores it, if its picklist takes it; other fields'
/// values as sent.
fn picked(spec: &FieldSpec, value: &Value, picklists: &Picklists) -> Result<Value, SfError> {
    let multi = match spec.kind {
        "multipicklist" => true,
        "picklist" => false,
        _ => return Ok(value.clone()),
    };
    let Value::String(text) = value else {
        return Ok(value.clone());
    };
    let stored = picklists.check(spec.name, spec.label, multi, text)?;
    // Salesforce keeps no empty selection: clearing every value clears the field.
    Ok(if stored.is_empty() {
        Value::Null
    } else {
        json!(stored)
    })
}

/// The field of `object` named `name` (any case), or INVALID_FIELD.
pub(super) fn spec<'a>(
    fields: &'a [FieldSpec],
    object: &str,
    name: &str,
) -> Result<&'a FieldSpec, SfError> {
    fields
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            SfError::on_field(
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {object}"),
                name,
            )
        })
}

/// Whether a write creates a record or changes one: some fields may be set only on create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    Create,
    Update,
}

/// Whether Salesforce would take `value` for the field: writable in this kind of write, of
/// the field's type, and not longer than the field.
pub(super) fn check_value(spec: &FieldSpec, value: &Value, write: Write) -> Result<(), SfError> {
    let writable = match write {
        Write::Create => spec.createable,
        Write::Update => spec.updateable,
    };
    if !writable {
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
                "string"
                    | "picklist"
                    | "multipicklist"
                    | "textarea"
                    | "combobox"
                    | "reference"
                    | "date",
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(schema: Schema, change: &Value) -> Result<Changes, SfError> {
        let changes = change.as_object().cloned().expect("object");
        schema.validate(&changes, &Picklists::standard())
    }

    fn refused(change: Value) -> String {
        validate(Schema::Standard, &change)
            .expect_err("refused")
            .code
            .into_owned()
    }

    #[test]
    fn the_standard_schema_checks_names_updateability_types_and_length() {
        let changes =
            json!({"attributes": {"type": "Opportunity"}, "main_competitors__c": "Clari"});
        assert_eq!(
            validate(Schema::Standard, &changes),
            Ok(vec![(seed::MAIN_COMPETITORS.to_owned(), json!("Clari"))]),
            "the canonical name; attributes are not a field"
        );
        assert_eq!(refused(json!({"Competitor__c": "x"})), "INVALID_FIELD");
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
    fn the_standard_schema_checks_restricted_picklists_and_any_does_not() {
        let changes = json!({"competitors__c": "Clari ; Outreach", "StageName": "Custom stage"});
        assert_eq!(
            validate(Schema::Standard, &changes),
            Ok(vec![
                ("StageName".to_owned(), json!("Custom stage")),
                (
                    seed::COMPETITORS_PICKLIST.to_owned(),
                    json!("Clari;Outreach")
                ),
            ]),
            "trimmed; StageName is not restricted"
        );
        let wingman = validate(
            Schema::Standard,
            &json!({"Competitors__c": "Clari;Wingman"}),
        )
        .expect_err("not a value");
        assert_eq!(
            wingman,
            SfError::on_field(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Competitors: bad value for restricted picklist field: Wingman",
                seed::COMPETITORS_PICKLIST
            )
        );
        assert_eq!(
            refused(json!({"Competitors__c": "XANT"})),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "inactive"
        );
        assert_eq!(
            validate(Schema::Standard, &json!({"Competitors__c": " ; "})),
            Ok(vec![(seed::COMPETITORS_PICKLIST.to_owned(), Value::Null)]),
            "no value selected clears the field"
        );
        let any = validate(Schema::Any, &json!({"Competitors__c": "Wingman"}));
        assert_eq!(any.map(|changes| changes.len()), Ok(1));
    }

    #[test]
    fn any_takes_every_field_as_sent() {
        let changes = json!({"Pricing_Terms__c": "net 30", "Whatever": 7});
        let taken = validate(Schema::Any, &changes).expect("taken");
        assert_eq!(taken.len(), 2);
        assert_eq!(Schema::Any.field("whatever"), Ok("whatever".to_owned()));
        assert_eq!(
            Schema::Standard.field("stagename"),
            Ok("StageName".to_owned())
        );
    }

    #[test]
    fn the_describe_lists_every_field_with_its_type_length_and_picklist() {
        let describe = describe(&Picklists::standard());
        let field = |name: &str| {
            describe["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|field| field["name"] == name)
                .cloned()
                .expect("described")
        };
        let main = field(seed::MAIN_COMPETITORS);
        assert_eq!(main["type"], "string");
        assert_eq!(main["length"], 255);
        assert_eq!(main["updateable"], true);
        assert_eq!(main["picklistValues"], json!([]));
        assert_eq!(main["restrictedPicklist"], false);
        let picklist = field(seed::COMPETITORS_PICKLIST);
        assert_eq!(picklist["type"], "multipicklist");
        assert_eq!(picklist["length"], 4099);
        assert_eq!(picklist["custom"], true);
        assert_eq!(picklist["nillable"], true);
        assert_eq!(picklist["restrictedPicklist"], true);
        assert_eq!(
            picklist["picklistValues"].as_array().map(Vec::len),
            Some(15)
        );
        let stage = field("StageName");
        assert_eq!(stage["restrictedPicklist"], false);
        assert_eq!(stage["picklistValues"][6]["value"], "Proposal/Price Quote");
        assert_eq!(field(ID)["createable"], false);
    }
}
