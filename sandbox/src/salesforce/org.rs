//! The org's data: Opportunity records, their describe, and the checks Salesforce makes on
//! every read and write (field names, updateability, types, lengths, ids).

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::soql::Query;
use crate::seed;

pub const OBJECT: &str = "Opportunity";
const LAST_MODIFIED: &str = "LastModifiedDate";

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
        name: "Id",
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

/// A refusal in Salesforce's terms. REST errors carry the code as `errorCode`, sObject
/// Collections results as `statusCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl SfError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn on_field(code: &'static str, message: impl Into<String>, field: &str) -> Self {
        Self {
            fields: vec![field.to_owned()],
            ..Self::new(code, message)
        }
    }

    /// One element of a REST error array.
    pub fn rest_json(&self) -> Value {
        json!({ "message": self.message, "errorCode": self.code, "fields": self.fields })
    }

    /// One element of a collection result's `errors`.
    pub fn collection_json(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }
}

/// One Opportunity: its field values by API name, and how often it was written.
pub struct Record {
    pub values: Map<String, Value>,
    pub writes: u32,
}

impl Record {
    pub fn id(&self) -> &str {
        self.text("Id").unwrap_or_default()
    }

    pub fn text(&self, field: &str) -> Option<&str> {
        self.values.get(field).and_then(Value::as_str)
    }
}

pub struct Org {
    records: Vec<Record>,
}

/// Validated changes to one record: canonical field names and their new values.
type Changes = Vec<(&'static str, Value)>;

impl Org {
    pub fn seeded(today: OffsetDateTime) -> Self {
        let created = salesforce_datetime(today - time::Duration::days(45));
        let records = seed::opportunity_records(today)
            .into_iter()
            .map(|mut values| {
                values.insert(LAST_MODIFIED.into(), json!(created));
                Record { values, writes: 0 }
            })
            .collect();
        Self { records }
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

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
                    "nillable": !matches!(field.name, "Id" | "Name" | "StageName" | "CloseDate" | LAST_MODIFIED),
                })
            })
            .collect();
        json!({
            "name": OBJECT, "label": "Opportunity", "labelPlural": "Opportunities",
            "keyPrefix": "006", "queryable": true, "updateable": true, "fields": fields
        })
    }

    /// The record `id` names (15- or 18-character form).
    fn find(&self, id: &str) -> Result<usize, SfError> {
        if !competitor_sync::sync::is_salesforce_id(id) {
            return Err(SfError::new("MALFORMED_ID", format!("malformed id {id}")));
        }
        // The 15-character form is the id; the 18-character form adds a checksum.
        self.records
            .iter()
            .position(|record| record.id().get(..15) == id.get(..15))
            .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))
    }

    /// A record with the `fields` asked for (all when `None`), as the REST API returns it.
    pub fn read(&self, id: &str, fields: Option<&[String]>) -> Result<Value, SfError> {
        let record = &self.records[self.find(id)?];
        let names: Vec<&'static str> = match fields {
            Some(fields) => fields
                .iter()
                .map(|name| field(name).map(|spec| spec.name))
                .collect::<Result<_, _>>()?,
            None => FIELDS.iter().map(|spec| spec.name).collect(),
        };
        Ok(render(record, &names))
    }

    /// `PATCH /sobjects/Opportunity/{id}`: all changes or none.
    pub fn update(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), SfError> {
        let index = self.find(id)?;
        let changes = validate(changes)?;
        self.apply(index, changes, now);
        Ok(())
    }

    /// `PATCH /composite/sobjects`: one result per record, in order. With `all_or_none`, one
    /// invalid record leaves every record unchanged.
    pub fn update_collection(
        &mut self,
        records: &[Value],
        all_or_none: bool,
        now: OffsetDateTime,
    ) -> Vec<Value> {
        let checked: Vec<_> = records
            .iter()
            .map(|record| {
                let sent_id = record.get("id").or_else(|| record.get("Id")).cloned();
                (
                    sent_id.unwrap_or(Value::Null),
                    self.check_collection_record(record),
                )
            })
            .collect();
        let any_failed = checked.iter().any(|(_, outcome)| outcome.is_err());
        let mut results = Vec::with_capacity(checked.len());
        for (sent_id, outcome) in checked {
            let result = match outcome {
                Ok(_) if all_or_none && any_failed => Err(SfError::new(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                )),
                Ok((index, changes)) => {
                    self.apply(index, changes, now);
                    Ok(index)
                }
                Err(error) => Err(error),
            };
            results.push(match result {
                Ok(index) => json!({"id": self.records[index].id(), "success": true, "errors": []}),
                Err(error) => json!({
                    "id": sent_id, "success": false, "errors": [error.collection_json()]
                }),
            });
        }
        results
    }

    fn check_collection_record(&self, record: &Value) -> Result<(usize, Changes), SfError> {
        let fields = record
            .as_object()
            .ok_or_else(|| SfError::new("JSON_PARSER_ERROR", "each record must be an object"))?;
        match record.pointer("/attributes/type").and_then(Value::as_str) {
            Some(kind) if kind.eq_ignore_ascii_case(OBJECT) => {}
            Some(kind) => {
                return Err(SfError::new(
                    "INVALID_TYPE",
                    format!("sObject type '{kind}' is not supported."),
                ))
            }
            None => {
                return Err(SfError::new(
                    "INVALID_TYPE",
                    "Must specify a type in the attributes",
                ))
            }
        }
        let id = fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("id"))
            .and_then(|(_, id)| id.as_str())
            .ok_or_else(|| {
                SfError::new("MISSING_ARGUMENT", "Id not specified in an update call")
            })?;
        let index = self.find(id).map_err(|error| match error.code {
            "NOT_FOUND" => {
                SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            }
            _ => error,
        })?;
        let changes: Map<String, Value> = fields
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("id") && *name != "attributes")
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Ok((index, validate(&changes)?))
    }

    fn apply(&mut self, index: usize, changes: Changes, now: OffsetDateTime) {
        let record = &mut self.records[index];
        for (name, value) in changes {
            tracing::info!(
                id = record.id(),
                name = record.text("Name").unwrap_or_default(),
                "Salesforce: Opportunity.{name} = {value}"
            );
            record.values.insert(name.to_owned(), value);
        }
        record
            .values
            .insert(LAST_MODIFIED.into(), json!(salesforce_datetime(now)));
        record.writes += 1;
    }

    /// The records a query selects, with its fields, in the org's order.
    pub fn query(&self, query: &Query) -> Result<Vec<Value>, SfError> {
        if !query.object.eq_ignore_ascii_case(OBJECT) {
            return Err(SfError::new(
                "INVALID_TYPE",
                format!(
                    "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
                    query.object
                ),
            ));
        }
        let names: Vec<&'static str> = query
            .fields
            .iter()
            .map(|name| field(name).map(|spec| spec.name))
            .collect::<Result<_, _>>()?;
        let wanted: Option<Vec<&str>> = match &query.ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        if competitor_sync::sync::is_salesforce_id(id) {
                            Ok(&id[..15])
                        } else {
                            Err(SfError::new(
                                "INVALID_QUERY_FILTER_OPERATOR",
                                format!("invalid ID field: {id}"),
                            ))
                        }
                    })
                    .collect::<Result<_, _>>()?,
            ),
            None => None,
        };
        Ok(self
            .records
            .iter()
            .filter(|record| {
                wanted
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| record.id().get(..15) == Some(*id)))
            })
            .take(query.limit.unwrap_or(usize::MAX))
            .map(|record| render(record, &names))
            .collect())
    }
}

/// The described field `name` (any case), or INVALID_FIELD.
fn field(name: &str) -> Result<&'static FieldSpec, SfError> {
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

/// The changes with canonical field names, if every one may be written as sent.
fn validate(changes: &Map<String, Value>) -> Result<Changes, SfError> {
    changes
        .iter()
        .filter(|(name, _)| *name != "attributes")
        .map(|(name, value)| {
            let spec = field(name)?;
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
                    | ("string" | "picklist" | "textarea" | "date", Value::String(_))
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
            Ok((spec.name, value.clone()))
        })
        .collect()
}

fn render(record: &Record, names: &[&str]) -> Value {
    let mut rendered = Map::new();
    rendered.insert(
        "attributes".into(),
        json!({
            "type": OBJECT,
            "url": format!("/services/data/v62.0/sobjects/{OBJECT}/{}", record.id())
        }),
    );
    for name in names {
        rendered.insert(
            (*name).to_owned(),
            record.values.get(*name).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(rendered)
}

/// Salesforce's datetime form: `2026-11-25T10:00:00.000+0000`.
pub fn salesforce_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::soql;

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
            refused(&mut org, json!({"Competitors__c": "x"})),
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
}
