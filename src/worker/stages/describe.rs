//! Stage 5: each rule target's describe (cached by the client until a write shows it stale):
//! a field that does not exist or is not updateable, or a related list that takes no new
//! rows, fails the jobs that write it; a field's type, length and picklist values shape the
//! values computed next.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::plan::Planned;
use super::{Step, Worker};
use crate::sync::{FieldShape, RecordPlan};
use crate::worker::Failure;

/// What each described target takes, by lower-case object and field name.
pub(super) struct Shapes(HashMap<(String, String), FieldShape>);

impl Shapes {
    pub fn shape(&self, object: &str, field: &str) -> FieldShape {
        self.0.get(&key(object, field)).cloned().unwrap_or_default()
    }
}

pub(super) async fn describe(
    worker: &Worker,
    steps: Vec<Step<Planned>>,
) -> (Vec<Step<Planned>>, Shapes) {
    let mut described: HashMap<(String, String), Result<FieldShape, Failure>> = HashMap::new();
    for planned in steps.iter().filter_map(Step::going) {
        for record in &planned.records {
            for field in &record.fields {
                if let Entry::Vacant(entry) = described.entry(key(&record.object, &field.field)) {
                    entry.insert(target_shape(worker, record, &field.field).await);
                }
            }
        }
    }
    let steps = steps
        .into_iter()
        .map(|step| {
            step.map(|planned| {
                let unusable = planned.records.iter().find_map(|record| {
                    record.fields.iter().find_map(|field| {
                        match described.get(&key(&record.object, &field.field)) {
                            Some(Err(failure)) => Some(failure.clone()),
                            _ => None,
                        }
                    })
                });
                match unusable {
                    Some(failure) => Step::failed(failure, Some(planned.plan)),
                    None => Step::Going(planned),
                }
            })
        })
        .collect();
    let shapes = described
        .into_iter()
        .filter_map(|(key, shape)| Some((key, shape.ok()?)))
        .collect();
    (steps, Shapes(shapes))
}

/// A field's shape, checked updateable; for related-list rows, the row's name field,
/// checked creatable.
async fn target_shape(
    worker: &Worker,
    record: &RecordPlan,
    field: &str,
) -> Result<FieldShape, Failure> {
    let shape = if record.adds_rows() {
        worker
            .salesforce
            .creatable_rows()
            .await
            .map(|rows| FieldShape {
                max_chars: rows.name_max_chars,
                ..FieldShape::default()
            })
    } else {
        worker
            .salesforce
            .writable_field(&record.object, field)
            .await
            .map(|writable| writable.shape)
    };
    shape.map_err(|e| Failure::of(&e))
}

fn key(object: &str, field: &str) -> (String, String) {
    (object.to_ascii_lowercase(), field.to_ascii_lowercase())
}
