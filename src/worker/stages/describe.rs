//! Stage 5: each rule field's describe (cached by the client for the life of the process):
//! a field that does not exist or is not updateable fails the jobs that write it, and a
//! field's length bounds the values computed next.

use std::collections::HashMap;

use super::plan::Planned;
use super::{Step, Worker};
use crate::worker::Failure;

/// The most characters each described field takes (`None`: no length), by lower-case
/// object and field name.
pub(super) struct Limits(HashMap<(String, String), Option<usize>>);

impl Limits {
    pub fn max_chars(&self, object: &str, field: &str) -> Option<usize> {
        self.0.get(&key(object, field)).copied().flatten()
    }
}

pub(super) async fn describe(
    worker: &Worker,
    steps: Vec<Step<Planned>>,
) -> (Vec<Step<Planned>>, Limits) {
    let mut described: HashMap<(String, String), Result<Option<usize>, Failure>> = HashMap::new();
    for planned in steps.iter().filter_map(Step::going) {
        for record in &planned.records {
            for field in &record.fields {
                let key = key(&record.object, &field.field);
                if described.contains_key(&key) {
                    continue;
                }
                let limit = worker
                    .salesforce
                    .writable_field(&record.object, &field.field)
                    .await
                    .map(|d| (d.length > 0).then_some(d.length))
                    .map_err(|e| Failure::of(&e));
                described.insert(key, limit);
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
    let limits = described
        .into_iter()
        .filter_map(|(key, limit)| Some((key, limit.ok()?)))
        .collect();
    (steps, Limits(limits))
}

fn key(object: &str, field: &str) -> (String, String) {
    (object.to_ascii_lowercase(), field.to_ascii_lowercase())
}
