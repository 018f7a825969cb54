//! Stage 6: the values to write. Merge rules first read what their fields hold (one SOQL
//! query per object for the whole batch); then each record's values come from `sync`
//! (merged, shortened to the field's length, left out when nothing would change).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::describe::Limits;
use super::plan::Planned;
use super::{Step, Worker};
use crate::store::FieldWrite;
use crate::sync::{self, RecordPlan};
use crate::worker::Failure;

pub(super) struct Computed {
    pub planned: Planned,
    pub records: Vec<RecordWrite>,
}

/// The values for one record; none when it already holds them.
pub(super) struct RecordWrite {
    pub object: String,
    pub record_id: String,
    pub values: Map<String, Value>,
    pub writes: Vec<FieldWrite>,
}

/// Field values read from Salesforce, by lower-case object and 15-character id.
type Current = HashMap<(String, String), HashMap<String, Option<String>>>;

pub(super) async fn compute(
    worker: &Worker,
    steps: Vec<Step<Planned>>,
    limits: &Limits,
) -> Vec<Step<Computed>> {
    let (current, unreadable) = read_merge_fields(worker, &steps).await;
    steps
        .into_iter()
        .map(|step| {
            step.map(|planned| {
                let failed = planned.records.iter().find_map(|record| {
                    let object = record.object.to_ascii_lowercase();
                    let merges = !record.merge_fields().is_empty();
                    unreadable.get(&object).filter(|_| merges).cloned()
                });
                if let Some(failure) = failed {
                    return Step::failed(failure, Some(planned.plan));
                }
                let records = planned
                    .records
                    .iter()
                    .map(|record| record_write(record, &current, limits))
                    .collect();
                Step::Going(Computed { planned, records })
            })
        })
        .collect()
}

fn record_write(record: &RecordPlan, current: &Current, limits: &Limits) -> RecordWrite {
    let id15: String = record.record_id.chars().take(15).collect();
    let now = current.get(&(record.object.to_ascii_lowercase(), id15));
    let changes =
        sync::record_changes(record, now, |field| limits.max_chars(&record.object, field));
    let mut values = Map::new();
    let mut writes = Vec::new();
    for change in changes {
        if !change.dropped.is_empty() {
            tracing::warn!(
                record_id = %record.record_id,
                field = %change.field,
                dropped = ?change.dropped,
                "the names do not fit in the field: the last ones were left out"
            );
        }
        values.insert(change.field.clone(), Value::String(change.new.clone()));
        writes.push(FieldWrite {
            object: record.object.clone(),
            record_id: record.record_id.clone(),
            field: change.field,
            old_value: change.old,
            new_value: change.new,
        });
    }
    RecordWrite {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        values,
        writes,
    }
}

/// One SOQL read: an object's records with merge-mode fields.
struct MergeRead {
    object: String,
    ids: Vec<String>,
    fields: Vec<String>,
}

/// Current values of the merge-mode fields of every record that has one: one query per
/// object (per 200 records). Objects whose read failed come back with the failure.
async fn read_merge_fields(
    worker: &Worker,
    steps: &[Step<Planned>],
) -> (Current, HashMap<String, Failure>) {
    let mut reads: HashMap<String, MergeRead> = HashMap::new();
    for record in steps
        .iter()
        .filter_map(Step::going)
        .flat_map(|planned| &planned.records)
    {
        let fields = record.merge_fields();
        if fields.is_empty() {
            continue;
        }
        let read = reads
            .entry(record.object.to_ascii_lowercase())
            .or_insert_with(|| MergeRead {
                object: record.object.clone(),
                ids: Vec::new(),
                fields: Vec::new(),
            });
        read.ids.push(record.record_id.clone());
        for field in fields {
            if !read.fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
                read.fields.push(field.to_owned());
            }
        }
    }
    let mut current = Current::new();
    let mut unreadable = HashMap::new();
    for (key, read) in reads {
        let ids: Vec<&str> = read.ids.iter().map(String::as_str).collect();
        let fields: Vec<&str> = read.fields.iter().map(String::as_str).collect();
        match worker
            .salesforce
            .query_fields(&read.object, &ids, &fields)
            .await
        {
            Ok(values) => {
                for (id15, fields) in values {
                    current.insert((key.clone(), id15), fields);
                }
            }
            Err(error) => {
                unreadable.insert(key, Failure::of(&error));
            }
        }
    }
    (current, unreadable)
}
