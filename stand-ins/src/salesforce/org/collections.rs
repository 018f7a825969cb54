//! sObject Collections updates: per-record checks and results of Opportunities and of
//! OpportunityCompetitor rows, all or none when asked; and what creates share with them.

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::{salesforce_datetime, Org};
use crate::salesforce::competitor::{self, RowChanges};
use crate::salesforce::error::SfError;
use crate::salesforce::fields::{Changes, ID};
use crate::salesforce::OBJECT;

impl Org {
    /// `PATCH /composite/sobjects`: one result per record, in order. With `all_or_none`, one
    /// invalid record leaves every record unchanged.
    pub(in crate::salesforce) fn update_collection(
        &mut self,
        records: &[Value],
        all_or_none: bool,
        now: OffsetDateTime,
    ) -> Vec<Value> {
        let checked: Vec<_> = records
            .iter()
            .map(|record| {
                let sent_id = record.get("id").or_else(|| record.get(ID)).cloned();
                (
                    sent_id.unwrap_or(Value::Null),
                    self.check_collection_record(record),
                )
            })
            .collect();
        collection_results(checked, all_or_none, |update| {
            self.apply_update(update, now)
        })
    }

    /// A checked update applied; the id of the record or row it changed.
    fn apply_update(&mut self, update: Update, now: OffsetDateTime) -> Result<String, SfError> {
        match update {
            Update::Opportunity(id, changes) => {
                let index = self.find_or_create(&id)?;
                self.apply(index, changes, now);
                Ok(self.records[index].id().to_owned())
            }
            Update::Row(index, changes) => {
                self.rows.update(index, changes, &salesforce_datetime(now));
                Ok(self.rows.get(index).id.clone())
            }
        }
    }

    /// A collection record's id and validated changes, or why it cannot be written.
    fn check_collection_record(&mut self, record: &Value) -> Result<Update, SfError> {
        let fields = record
            .as_object()
            .ok_or_else(|| SfError::new("JSON_PARSER_ERROR", "each record must be an object"))?;
        let kind = record_type(record)?;
        let row = kind.eq_ignore_ascii_case(competitor::OBJECT);
        if !row && !kind.eq_ignore_ascii_case(OBJECT) {
            return Err(SfError::new(
                "INVALID_TYPE",
                format!("sObject type '{kind}' is not supported."),
            ));
        }
        let id = fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("id"))
            .and_then(|(_, id)| id.as_str())
            .ok_or_else(|| {
                SfError::new("MISSING_ARGUMENT", "Id not specified in an update call")
            })?;
        let changes: Map<String, Value> = fields
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("id"))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        if row {
            let (index, changes) = self.check_row_update(id, &changes)?;
            return Ok(Update::Row(index, changes));
        }
        if self.find(id)?.is_none() && !self.open {
            return Err(SfError::new(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
            ));
        }
        self.take_scripted(id)?;
        let changes = self.schema.validate(&changes, &self.picklists)?;
        Ok(Update::Opportunity(id.to_owned(), changes))
    }
}

/// A checked sObject Collections update: of an Opportunity (its id as sent), or of a row.
enum Update {
    Opportunity(String, Changes),
    Row(usize, RowChanges),
}

/// A collection record's `attributes.type`, which Salesforce requires.
pub(super) fn record_type(record: &Value) -> Result<&str, SfError> {
    record
        .pointer("/attributes/type")
        .and_then(Value::as_str)
        .ok_or_else(|| SfError::new("INVALID_TYPE", "Must specify a type in the attributes"))
}

/// Why a valid record of an all-or-none request was not written.
pub(super) fn rolled_back() -> SfError {
    SfError::new(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

/// One sObject Collections result per checked record, in order, each valid one applied by
/// `apply` (which gives the id written); with `all_or_none`, one refusal rolls every valid
/// record back instead.
pub(super) fn collection_results<T>(
    checked: Vec<(Value, Result<T, SfError>)>,
    all_or_none: bool,
    mut apply: impl FnMut(T) -> Result<String, SfError>,
) -> Vec<Value> {
    let any_failed = checked.iter().any(|(_, outcome)| outcome.is_err());
    checked
        .into_iter()
        .map(|(sent_id, outcome)| {
            let outcome = match outcome {
                Ok(_) if all_or_none && any_failed => Err(rolled_back()),
                Ok(checked) => apply(checked),
                Err(error) => Err(error),
            };
            collection_result(outcome, sent_id)
        })
        .collect()
}

/// One sObject Collections result: the id written, or the id sent and why it failed.
pub(super) fn collection_result(outcome: Result<String, SfError>, sent_id: Value) -> Value {
    match outcome {
        Ok(id) => json!({"id": id, "success": true, "errors": []}),
        Err(error) => json!({"id": sent_id, "success": false, "errors": [error.collection_json()]}),
    }
}
