//! Stage 7: the values go to Salesforce in one sObject Collections update (per 200 records),
//! and the related-list rows in one sObject Collections create (per 200 rows), both
//! `allOrNone: false`, so each record succeeds or fails on its own. Dry-run jobs stop here,
//! with what they would have written.

use std::collections::{BTreeSet, HashMap};

use super::compute::{Computed, RecordWrite};
use super::plan::Planned;
use super::{Step, Worker};
use crate::retry::Disposition;
use crate::salesforce::{RecordCreate, RecordFailure, RecordUpdate};
use crate::store::{Ending, FieldWrite, Job, JobReport, Target, TargetStatus};
use crate::telemetry;
use crate::worker::Failure;

pub(super) struct Sent {
    pub planned: Planned,
    /// The records whose outcome is known, with the values written to each.
    pub resolved: Vec<(Target, Vec<FieldWrite>)>,
    /// Rows created for records still to be retried: recorded now, so the audit trail has
    /// them whatever becomes of the rest.
    pub pending_writes: Vec<FieldWrite>,
    /// A record to try again (the others' outcomes stand and are recorded).
    pub failure: Option<Failure>,
}

/// Where a request's record came from: the job's index in the batch, the record's position.
type Owner = (usize, usize);

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
    let (updates, update_owners, creates, create_owners) = requests(&steps);
    let updated = if updates.is_empty() {
        Ok(Vec::new())
    } else {
        worker.salesforce.update_records(&updates).await
    };
    let created = if creates.is_empty() {
        Ok(Vec::new())
    } else {
        worker.salesforce.create_records(&creates).await
    };
    let mut sending: Vec<Step<Sending>> = steps
        .into_iter()
        .map(|step| step.map(|computed| Step::Going(unchanged_only(computed))))
        .collect();
    let mut stale = BTreeSet::new();
    match updated {
        Ok(outcomes) => {
            for ((index, position), outcome) in update_owners.into_iter().zip(outcomes) {
                if let Step::Going(job) = &mut sending[index] {
                    if let Some(object) = resolve(job, &jobs[index], position, outcome) {
                        stale.insert(object);
                    }
                }
            }
        }
        Err(error) => fail_owners(&mut sending, &update_owners, &Failure::of(&error)),
    }
    match created {
        Ok(outcomes) => {
            let mut rows: HashMap<Owner, Vec<Result<String, RecordFailure>>> = HashMap::new();
            for (owner, outcome) in create_owners.into_iter().zip(outcomes) {
                rows.entry(owner).or_default().push(outcome);
            }
            for ((index, position), outcomes) in rows {
                if let Step::Going(job) = &mut sending[index] {
                    resolve_rows(job, &jobs[index], position, outcomes);
                }
            }
        }
        Err(error) => fail_owners(&mut sending, &create_owners, &Failure::of(&error)),
    }
    for object in stale {
        // Its picklist changed since the describe: the retry reads the values again.
        worker.salesforce.forget_describe(&object).await;
    }
    sending
        .into_iter()
        .map(|step| step.map(|job| Step::Going(job.finish())))
        .collect()
}

/// The batch's updates and row creations, each with the record it is for.
fn requests(
    steps: &[Step<Computed>],
) -> (Vec<RecordUpdate>, Vec<Owner>, Vec<RecordCreate>, Vec<Owner>) {
    let (mut updates, mut update_owners) = (Vec::new(), Vec::new());
    let (mut creates, mut create_owners) = (Vec::new(), Vec::new());
    for (index, computed) in steps.iter().enumerate() {
        let records = computed.going().into_iter().flat_map(|c| &c.records);
        for (position, record) in records.enumerate() {
            if !record.values.is_empty() {
                updates.push(RecordUpdate {
                    object: record.object.clone(),
                    record_id: record.record_id.clone(),
                    values: record.values.clone(),
                });
                update_owners.push((index, position));
            }
            for name in &record.rows {
                creates.push(RecordCreate::competitor_row(&record.record_id, name));
                create_owners.push((index, position));
            }
        }
    }
    (updates, update_owners, creates, create_owners)
}

fn fail_owners(sending: &mut [Step<Sending>], owners: &[Owner], failure: &Failure) {
    for (index, _) in owners {
        if let Step::Going(job) = &mut sending[*index] {
            job.failure = Some(failure.clone());
        }
    }
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
    pending_writes: Vec<FieldWrite>,
    failure: Option<Failure>,
}

impl Sending {
    fn finish(self) -> Sent {
        Sent {
            planned: self.planned,
            resolved: self.resolved,
            pending_writes: self.pending_writes,
            failure: self.failure,
        }
    }

    fn retry(&mut self, record: &RecordWrite, refused: &RecordFailure) {
        self.failure.get_or_insert_with(|| Failure {
            disposition: Disposition::Retry { after: None },
            message: format!("{} {}: {refused}", record.object, record.record_id),
        });
    }
}

/// Resolves at once the records that need no write.
fn unchanged_only(computed: Computed) -> Sending {
    let mut resolved = Vec::new();
    let pending = computed
        .records
        .into_iter()
        .map(|record| {
            if record.values.is_empty() && record.rows.is_empty() {
                let detail = if record
                    .object
                    .eq_ignore_ascii_case(crate::sync::COMPETITOR_ROWS)
                {
                    "unchanged: the Opportunity already lists these competitors"
                } else {
                    "unchanged: the fields already hold these names"
                };
                let target = target(&record, TargetStatus::Done, detail.to_owned());
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
        pending_writes: Vec::new(),
        failure: None,
    }
}

/// Salesforce's answer for one record update of `job`. Returns the record's object when a
/// picklist refused a value, so its describe is read again.
fn resolve(
    sending: &mut Sending,
    job: &Job,
    position: usize,
    outcome: Result<(), RecordFailure>,
) -> Option<String> {
    let record = sending.pending.get_mut(position).and_then(Option::take)?;
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
        Err(refused) if refused.is_stale_picklist() => {
            tracing::warn!(job_id = %job.id, record_id = %record.record_id, error = %refused, "a picklist refused a value: its values changed since the describe; retrying with them read again");
            sending.retry(&record, &refused);
            return Some(record.object);
        }
        Err(refused) if refused.is_retryable() => sending.retry(&record, &refused),
        Err(refused) => {
            telemetry::target_failed(&refused.code);
            tracing::warn!(job_id = %job.id, record_id = %record.record_id, error = %refused, "record could not be written");
            let dead = target(&record, TargetStatus::Dead, refused.to_string());
            sending.resolved.push((dead, Vec::new()));
        }
    }
    None
}

/// Salesforce's answers for the rows created for one record of `job`, in order. Rows
/// created are recorded whatever became of the others; a row refused for a while makes
/// the job retry (its check before creating finds the rows made now).
fn resolve_rows(
    sending: &mut Sending,
    job: &Job,
    position: usize,
    outcomes: Vec<Result<String, RecordFailure>>,
) {
    let Some(record) = sending.pending.get_mut(position).and_then(Option::take) else {
        return;
    };
    let mut created = Vec::new();
    let mut refused = Vec::new();
    let mut retry = None;
    for (mut write, outcome) in record.writes.iter().cloned().zip(outcomes) {
        match outcome {
            Ok(id) => {
                write.created_id = Some(id);
                created.push(write);
            }
            Err(failure) if failure.is_retryable() => retry = Some(failure),
            Err(failure) => {
                telemetry::target_failed(&failure.code);
                tracing::warn!(job_id = %job.id, record_id = %record.record_id, row = %write.new_value, error = %failure, "related-list row could not be created");
                refused.push(format!("{}: {failure}", write.new_value));
            }
        }
    }
    if let Some(failure) = retry {
        sending.retry(&record, &failure);
        sending.pending_writes.extend(created);
        return;
    }
    let made: Vec<String> = created
        .iter()
        .map(|w| {
            format!(
                "{} ({})",
                w.new_value,
                w.created_id.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let made = format!("created {} row(s): {}", made.len(), made.join(", "));
    let done = if refused.is_empty() {
        target(&record, TargetStatus::Done, made)
    } else {
        let detail = format!("could not create {}; {made}", refused.join("; "));
        target(&record, TargetStatus::Dead, detail)
    };
    sending.resolved.push((done, created));
}

fn target(record: &RecordWrite, status: TargetStatus, detail: String) -> Target {
    Target {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        status,
        detail,
    }
}
