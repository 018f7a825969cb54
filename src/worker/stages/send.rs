//! Stage 7: the values go to Salesforce in one sObject Collections request (per 200
//! records), `allOrNone: false`, so each record succeeds or fails on its own. Dry-run jobs
//! stop here, with what they would have written.

use super::compute::{Computed, RecordWrite};
use super::plan::Planned;
use super::{Step, Worker};
use crate::retry::Disposition;
use crate::salesforce::RecordUpdate;
use crate::store::{Ending, FieldWrite, Job, JobReport, Target, TargetStatus};
use crate::telemetry;
use crate::worker::Failure;

pub(super) struct Sent {
    pub planned: Planned,
    /// The records whose outcome is known, with the values written to each.
    pub resolved: Vec<(Target, Vec<FieldWrite>)>,
    /// A record to try again (the others' outcomes stand and are recorded).
    pub failure: Option<Failure>,
}

pub(super) async fn send(
    worker: &Worker,
    jobs: &[Job],
    steps: Vec<Step<Computed>>,
) -> Vec<Step<Sent>> {
    let steps: Vec<Step<Computed>> = jobs
        .iter()
        .zip(steps)
        .map(|(job, step)| {
            step.map(|computed| match worker.is_dry_run(job) {
                true => dry_run(computed),
                false => Step::Going(computed),
            })
        })
        .collect();
    let mut updates = Vec::new();
    let mut owners = Vec::new();
    for (index, computed) in steps.iter().enumerate() {
        let records = computed.going().into_iter().flat_map(|c| &c.records);
        for (position, record) in records.enumerate() {
            if !record.values.is_empty() {
                updates.push(RecordUpdate {
                    object: record.object.clone(),
                    record_id: record.record_id.clone(),
                    values: record.values.clone(),
                });
                owners.push((index, position));
            }
        }
    }
    let outcomes = if updates.is_empty() {
        Ok(Vec::new())
    } else {
        worker.salesforce.update_records(&updates).await
    };
    let mut sending: Vec<Step<Sending>> = steps
        .into_iter()
        .map(|step| step.map(|computed| Step::Going(unchanged_only(computed))))
        .collect();
    match outcomes {
        Ok(outcomes) => {
            for ((index, position), outcome) in owners.into_iter().zip(outcomes) {
                if let Step::Going(job) = &mut sending[index] {
                    resolve(job, &jobs[index], position, outcome);
                }
            }
        }
        Err(error) => {
            let failure = Failure::of(&error);
            for (index, _) in owners {
                if let Step::Going(job) = &mut sending[index] {
                    job.failure = Some(failure.clone());
                }
            }
        }
    }
    sending
        .into_iter()
        .map(|step| step.map(|job| Step::Going(job.finish())))
        .collect()
}

/// A dry run's ending: what each record would have been given.
fn dry_run(computed: Computed) -> Step<Computed> {
    let would_write: Vec<FieldWrite> = computed
        .records
        .into_iter()
        .flat_map(|record| record.writes)
        .collect();
    let summary = dry_run_summary(&would_write);
    let report = JobReport {
        plan: Some(computed.planned.plan.clone()),
        would_write,
        ..JobReport::default()
    };
    Step::ended(
        Ending::DryRun { summary, report },
        Some(computed.planned.plan),
    )
}

/// "dry run: would write 2 field value(s) to 2 record(s)".
fn dry_run_summary(writes: &[FieldWrite]) -> String {
    if writes.is_empty() {
        return "dry run: nothing to write, the fields already hold these names".to_owned();
    }
    let mut records: Vec<(&str, &str)> = writes
        .iter()
        .map(|w| (w.object.as_str(), w.record_id.as_str()))
        .collect();
    records.sort_unstable();
    records.dedup();
    format!(
        "dry run: would write {} field value(s) to {} record(s)",
        writes.len(),
        records.len()
    )
}

/// A job on its way through the send: its records still waiting for Salesforce's answer.
struct Sending {
    planned: Planned,
    pending: Vec<Option<RecordWrite>>,
    resolved: Vec<(Target, Vec<FieldWrite>)>,
    failure: Option<Failure>,
}

impl Sending {
    fn finish(self) -> Sent {
        Sent {
            planned: self.planned,
            resolved: self.resolved,
            failure: self.failure,
        }
    }
}

/// Resolves at once the records that need no write.
fn unchanged_only(computed: Computed) -> Sending {
    let mut resolved = Vec::new();
    let pending = computed
        .records
        .into_iter()
        .map(|record| {
            if record.values.is_empty() {
                let target = target(
                    &record,
                    TargetStatus::Done,
                    "unchanged: the fields already hold these names".to_owned(),
                );
                resolved.push((target, Vec::new()));
                None
            } else {
                Some(record)
            }
        })
        .collect();
    Sending {
        planned: computed.planned,
        pending,
        resolved,
        failure: None,
    }
}

/// Salesforce's answer for one record of `job`.
fn resolve(
    sending: &mut Sending,
    job: &Job,
    position: usize,
    outcome: Result<(), crate::salesforce::RecordFailure>,
) {
    let Some(record) = sending.pending.get_mut(position).and_then(Option::take) else {
        return;
    };
    match outcome {
        Ok(()) => {
            let fields: Vec<&str> = record.writes.iter().map(|w| w.field.as_str()).collect();
            let done = target(
                &record,
                TargetStatus::Done,
                format!("wrote {}", fields.join(", ")),
            );
            sending.resolved.push((done, record.writes));
        }
        Err(refused) if refused.is_retryable() => {
            sending.failure.get_or_insert_with(|| Failure {
                disposition: Disposition::Retry { after: None },
                message: format!("{} {}: {refused}", record.object, record.record_id),
            });
        }
        Err(refused) => {
            telemetry::target_failed(&refused.code);
            tracing::warn!(job_id = %job.id, record_id = %record.record_id, error = %refused, "record could not be written");
            let dead = target(&record, TargetStatus::Dead, refused.to_string());
            sending.resolved.push((dead, Vec::new()));
        }
    }
}

fn target(record: &RecordWrite, status: TargetStatus, detail: String) -> Target {
    Target {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        status,
        detail,
    }
}
