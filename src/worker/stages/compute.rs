//! Stage 6: the values to write. Merge rules first read what their fields hold (one SOQL
//! query per object for the whole batch), related-list rules the rows their Opportunities
//! have (one query for the batch); then each record's values come from `sync` (merged, fitted
//! to the field's type and length, left out when nothing would change), and each
//! Opportunity's missing rows. What a target could not take is noted in the job's plan.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::describe::Shapes;
use super::plan::Planned;
use super::{Step, Worker};
use crate::store::{Ending, FieldWrite, JobReport};
use crate::sync::{self, FitNote, RecordPlan, SkipReason};
use crate::worker::Failure;

pub(super) struct Computed {
    pub planned: Planned,
    pub records: Vec<RecordWrite>,
}

/// The values for one record, or the related-list rows to add to it; none when it already
/// holds them.
pub(super) struct RecordWrite {
    pub object: String,
    pub record_id: String,
    pub values: Map<String, Value>,
    /// The names of the rows to create, for a related-list record.
    pub rows: Vec<String>,
    /// What is written: a field value each, or a row each (in the order of `rows`).
    pub writes: Vec<FieldWrite>,
}

/// Field values read from Salesforce, by lower-case object and 15-character id.
type Current = HashMap<(String, String), HashMap<String, Option<String>>>;

/// What the batch's records hold now: merge fields, and related-list rows by Opportunity.
struct Held {
    fields: Current,
    rows: HashMap<String, Vec<String>>,
}

pub(super) async fn compute(
    worker: &Worker,
    steps: Vec<Step<Planned>>,
    shapes: &Shapes,
) -> Vec<Step<Computed>> {
    let (fields, mut unreadable) = read_merge_fields(worker, &steps).await;
    let rows = match read_rows(worker, &steps).await {
        Ok(rows) => rows,
        Err(failure) => {
            unreadable.insert(sync::COMPETITOR_ROWS.to_ascii_lowercase(), failure);
            HashMap::new()
        }
    };
    let held = Held { fields, rows };
    steps
        .into_iter()
        .map(|step| {
            step.map(|planned| {
                let failed = planned.records.iter().find_map(|record| {
                    let object = record.object.to_ascii_lowercase();
                    let reads = !record.merge_fields().is_empty() || record.adds_rows();
                    unreadable.get(&object).filter(|_| reads).cloned()
                });
                match failed {
                    Some(failure) => Step::failed(failure, Some(planned.plan)),
                    None => computed(worker, planned, &held, shapes),
                }
            })
        })
        .collect()
}

/// One job's record writes; skipped when its every target is a picklist that took no name.
fn computed(worker: &Worker, mut planned: Planned, held: &Held, shapes: &Shapes) -> Step<Computed> {
    let mut records = Vec::with_capacity(planned.records.len());
    let mut nothing_fits = !planned.records.is_empty() && planned.earlier.is_empty();
    let mut notes: Vec<FitNote> = Vec::new();
    for record in &planned.records {
        let (write, fit_notes, fits) = if record.adds_rows() {
            let (write, notes) = rows_write(worker, record, held, shapes);
            (write, notes, true)
        } else {
            record_write(worker, record, held, shapes)
        };
        nothing_fits &= !fits;
        planned
            .plan
            .note_fit(&record.object, &record.record_id, &fit_notes);
        for note in fit_notes {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        records.push(write);
    }
    if nothing_fits {
        let reason = SkipReason::NoValueFits { notes }.to_string();
        let report = JobReport {
            plan: Some(planned.plan.clone()),
            ..JobReport::default()
        };
        let ending = Ending::Skipped {
            reason,
            report: Some(report),
        };
        return Step::ended(ending, Some(planned.plan));
    }
    Step::Going(Computed { planned, records })
}

/// A record's field values, the notes of its picklists, and whether any field took a name.
fn record_write(
    worker: &Worker,
    record: &RecordPlan,
    held: &Held,
    shapes: &Shapes,
) -> (RecordWrite, Vec<FitNote>, bool) {
    let id15: String = record.record_id.chars().take(15).collect();
    let now = held.fields.get(&(record.object.to_ascii_lowercase(), id15));
    let fit = sync::record_changes(
        record,
        now,
        |field| shapes.shape(&record.object, field),
        &worker.competitors,
    );
    let mut values = Map::new();
    let mut writes = Vec::new();
    for change in fit.changes {
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
            created_id: None,
        });
    }
    let write = RecordWrite {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        values,
        rows: Vec::new(),
        writes,
    };
    (write, fit.notes, !fit.nothing_fits)
}

/// The rows an Opportunity's related list lacks, and the names shortened to fit a row.
fn rows_write(
    worker: &Worker,
    record: &RecordPlan,
    held: &Held,
    shapes: &Shapes,
) -> (RecordWrite, Vec<FitNote>) {
    let id15: String = record.record_id.chars().take(15).collect();
    let existing = held.rows.get(&id15).map(Vec::as_slice).unwrap_or_default();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for field in &record.fields {
        let max_chars = shapes.shape(&record.object, &field.field).max_chars;
        let held_now: Vec<String> = existing.iter().chain(&rows).cloned().collect();
        let added = sync::rows_to_add(field, &held_now, max_chars, &worker.competitors);
        rows.extend(added.names);
        notes.extend(added.notes);
    }
    let writes = rows
        .iter()
        .map(|name| FieldWrite {
            object: record.object.clone(),
            record_id: record.record_id.clone(),
            field: sync::ROW_NAME_FIELD.to_owned(),
            old_value: None,
            new_value: name.clone(),
            created_id: None,
        })
        .collect();
    let write = RecordWrite {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        values: Map::new(),
        rows,
        writes,
    };
    (write, notes)
}

/// The names of the related-list rows of every Opportunity the batch adds rows to: one
/// query for the batch (per 200 Opportunities).
async fn read_rows(
    worker: &Worker,
    steps: &[Step<Planned>],
) -> Result<HashMap<String, Vec<String>>, Failure> {
    let mut ids: Vec<&str> = steps
        .iter()
        .filter_map(Step::going)
        .flat_map(|planned| &planned.records)
        .filter(|record| record.adds_rows())
        .map(|record| record.record_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    worker
        .salesforce
        .competitor_rows(&ids)
        .await
        .map_err(|e| Failure::of(&e))
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
