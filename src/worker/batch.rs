//! One batch of jobs, end to end: screen, one Gong fetch, plan, one Salesforce read (merge
//! mode) and one collection write, then each job's outcome.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::{Failure, Outcome, Worker};
use crate::config::WriteMode;
use crate::gong::types::Call;
use crate::gong::GongError;
use crate::retry::Disposition;
use crate::salesforce::RecordUpdate;
use crate::store::{FieldWrite, Job, Resolution, Target, TargetStatus};
use crate::sync::{self, Plan, RecordPlan, SkipReason};
use crate::telemetry;

type JobResult = Result<Outcome, Failure>;

/// A job whose call was fetched and planned, with the records it still has to write.
struct Planned {
    index: usize,
    plan: Plan,
    records: Vec<RecordPlan>,
}

/// A record update and the job it belongs to.
struct Owned {
    index: usize,
    object: String,
    record_id: String,
    writes: Vec<FieldWrite>,
}

/// One job's attempt: its result and, once its call was fetched and planned, the plan (kept
/// with the job for a retry, so a Salesforce failure costs no new Gong request).
pub(super) struct Attempt {
    pub result: JobResult,
    pub plan: Option<Plan>,
}

/// Processes `jobs` and returns one attempt per job, in order.
pub(super) async fn process(worker: &Worker, jobs: &[Job]) -> Vec<Attempt> {
    let mut results: Vec<Option<JobResult>> = jobs.iter().map(|_| None).collect();
    let mut to_fetch = Vec::new();
    let mut planned = Vec::new();
    for (index, job) in jobs.iter().enumerate() {
        if let Some(plan) = worker.stored_plan(job) {
            match unresolved(worker, index, job, plan).await {
                Ok(job) => planned.push(job),
                Err(failure) => results[index] = Some(Err(failure)),
            }
            continue;
        }
        match screen(worker, job) {
            Ok(webhook) => to_fetch.push((index, webhook)),
            Err(result) => results[index] = Some(result),
        }
    }
    if !to_fetch.is_empty() {
        planned.extend(fetch_and_plan(worker, jobs, to_fetch, &mut results).await);
    }
    let mut plans: Vec<Option<Plan>> = jobs.iter().map(|_| None).collect();
    for job in &planned {
        plans[job.index] = Some(job.plan.clone());
    }
    if !planned.is_empty() {
        write(worker, jobs, planned, &mut results).await;
    }
    results
        .into_iter()
        .zip(plans)
        .map(|(result, plan)| Attempt {
            result: result.unwrap_or_else(|| {
                Err(Failure {
                    disposition: Disposition::Retry { after: None },
                    message: "the job was left without an outcome; trying again".into(),
                })
            }),
            plan,
        })
        .collect()
}

/// Settles what needs no upstream request: test deliveries, unreadable payloads, and calls
/// whose webhook context links no record. Returns the webhook's call otherwise.
fn screen(worker: &Worker, job: &Job) -> Result<Call, JobResult> {
    if job.is_test {
        return Err(skipped(SkipReason::TestWebhook));
    }
    let webhook: Call = serde_json::from_str(&job.call_data).map_err(|e| {
        Err(Failure::permanent(format!(
            "the stored webhook cannot be read: {e}"
        )))
    })?;
    // The webhook's own context decides, when it has one; Gong's copy is used otherwise.
    if !webhook.context.is_empty() {
        sync::check_links(&webhook.context, &worker.rules).map_err(skipped)?;
    }
    Ok(webhook)
}

fn skipped(reason: SkipReason) -> JobResult {
    Ok(Outcome::Skipped {
        reason,
        result: None,
    })
}

/// Fetches every call in one Gong request (per 100) and plans each job's writes.
async fn fetch_and_plan(
    worker: &Worker,
    jobs: &[Job],
    to_fetch: Vec<(usize, Call)>,
    results: &mut [Option<JobResult>],
) -> Vec<Planned> {
    // While Salesforce is paused, fetching the calls would only spend Gong quota.
    if let Err(error) = worker.salesforce.ensure_not_paused() {
        for (index, _) in &to_fetch {
            results[*index] = Some(Err(Failure::of(&error)));
        }
        return Vec::new();
    }
    let mut call_ids: Vec<String> = to_fetch
        .iter()
        .map(|(i, _)| jobs[*i].call_id.clone())
        .collect();
    call_ids.sort();
    call_ids.dedup();
    let fetched = match worker
        .gong
        .fetch_calls(&call_ids, worker.gong_batch_size)
        .await
    {
        Ok(fetched) => fetched,
        Err(error) => {
            for (index, _) in &to_fetch {
                results[*index] = Some(Err(Failure::of(&error)));
            }
            return Vec::new();
        }
    };
    let mut planned = Vec::new();
    for (index, webhook) in to_fetch {
        let job = &jobs[index];
        let Some(call) = fetched.calls.get(&job.call_id) else {
            let call_id = job.call_id.clone();
            let error = if fetched.not_found.contains(&job.call_id) {
                GongError::CallNotFound { call_id }
            } else {
                GongError::CallMissing { call_id }
            };
            results[index] = Some(Err(Failure::of(&error)));
            continue;
        };
        let context = if webhook.context.is_empty() {
            &call.context
        } else {
            &webhook.context
        };
        let plan = match sync::plan(context, call.trackers(), &worker.rules) {
            Ok(plan) => plan,
            Err(reason) => {
                results[index] = Some(skipped(reason));
                continue;
            }
        };
        if !plan.ignored_ids.is_empty() {
            tracing::warn!(job_id = %job.id, ids = ?plan.ignored_ids, "ignoring linked ids that are not Salesforce ids");
        }
        match unresolved(worker, index, job, plan).await {
            Ok(job) => planned.push(job),
            Err(failure) => results[index] = Some(Err(failure)),
        }
    }
    planned
}

/// The job with the records of `plan` it still has to write: records resolved by an
/// earlier attempt are not written again.
async fn unresolved(
    worker: &Worker,
    index: usize,
    job: &Job,
    plan: Plan,
) -> Result<Planned, Failure> {
    let resolved = worker
        .store
        .targets(&job.id)
        .await
        .map_err(|e| Failure::of(&e))?;
    let records = plan
        .records
        .iter()
        .filter(|record| !resolved.iter().any(|t| same_record(t, record)))
        .cloned()
        .collect();
    Ok(Planned {
        index,
        plan,
        records,
    })
}

fn same_record(target: &Target, record: &RecordPlan) -> bool {
    target.record_id == record.record_id && target.object.eq_ignore_ascii_case(&record.object)
}

fn record_key(object: &str, record_id: &str) -> (String, String) {
    (object.to_ascii_lowercase(), record_id.to_owned())
}

/// Writes every planned record and records each job's result.
async fn write(
    worker: &Worker,
    jobs: &[Job],
    planned: Vec<Planned>,
    results: &mut [Option<JobResult>],
) {
    // One job per record per batch: a later job wanting a record an earlier one writes waits
    // for the next batch, so a merge always reads what the previous write left.
    let mut taken = HashSet::new();
    let mut writers = Vec::new();
    for job in planned {
        let keys: Vec<_> = job
            .records
            .iter()
            .map(|r| record_key(&r.object, &r.record_id))
            .collect();
        if keys.iter().any(|key| taken.contains(key)) {
            results[job.index] = Some(Ok(Outcome::Postponed));
        } else {
            taken.extend(keys);
            writers.push(job);
        }
    }
    // Other workers' batches may hold some of these records: wait for them.
    let mut keys: Vec<_> = taken.into_iter().collect();
    keys.sort();
    let _writing = worker.record_locks.lock_all(&keys).await;
    let Written {
        mut failures,
        mut would_write,
    } = write_records(worker, jobs, &writers).await;
    for job in writers {
        results[job.index] = Some(match failures.remove(&job.index) {
            Some(failure) => Err(failure),
            None if worker.is_dry_run(&jobs[job.index]) => {
                let writes = would_write.remove(&job.index).unwrap_or_default();
                let result = json!({ "plan": job.plan, "would_write": writes });
                Ok(Outcome::DryRun { writes, result })
            }
            None => summarize(worker, &jobs[job.index], &job.plan).await,
        });
    }
}

/// What became of the writers' jobs, by job index.
struct Written {
    /// Jobs that failed as a whole.
    failures: HashMap<usize, Failure>,
    /// Dry-run jobs: what they would have written.
    would_write: HashMap<usize, Vec<FieldWrite>>,
}

/// Describes the fields, reads current values for merge rules (one query per object),
/// computes the values and sends them in one collection request; dry-run jobs stop short of
/// the request. Each record's outcome is recorded as it is known.
async fn write_records(worker: &Worker, jobs: &[Job], writers: &[Planned]) -> Written {
    let mut failures: HashMap<usize, Failure> = HashMap::new();
    let mut would_write: HashMap<usize, Vec<FieldWrite>> = HashMap::new();
    let mut limits: HashMap<(String, String), Result<Option<usize>, Failure>> = HashMap::new();
    for job in writers {
        for record in &job.records {
            for field in &record.fields {
                let key = record_key(&record.object, &field.field);
                if !limits.contains_key(&key) {
                    let described = worker
                        .salesforce
                        .writable_field(&record.object, &field.field)
                        .await
                        .map(|d| (d.length > 0).then_some(d.length))
                        .map_err(|e| Failure::of(&e));
                    limits.insert(key.clone(), described);
                }
                if let Some(Err(failure)) = limits.get(&key) {
                    failures.entry(job.index).or_insert_with(|| failure.clone());
                }
            }
        }
    }
    let current = read_merge_fields(worker, writers, &mut failures).await;

    let mut updates = Vec::new();
    let mut owners = Vec::new();
    let mut resolutions = Vec::new();
    let live: Vec<&Planned> = writers
        .iter()
        .filter(|j| !failures.contains_key(&j.index))
        .collect();
    for job in live {
        for record in &job.records {
            let id15: String = record.record_id.chars().take(15).collect();
            let values_now = current.get(&record_key(&record.object, &id15));
            let mut values = Map::new();
            let mut writes = Vec::new();
            for field in &record.fields {
                let merge_with = (field.mode == WriteMode::Merge).then(|| {
                    values_now
                        .and_then(|fields| fields.get(&field.field))
                        .and_then(Option::as_deref)
                });
                let max_chars = limits
                    .get(&record_key(&record.object, &field.field))
                    .and_then(|limit| limit.clone().ok())
                    .flatten();
                let Some(fitted) =
                    sync::field_value(&field.names, &field.separator, merge_with, max_chars)
                else {
                    continue;
                };
                if !fitted.dropped.is_empty() {
                    tracing::warn!(
                        record_id = %record.record_id,
                        field = %field.field,
                        max_chars,
                        dropped = ?fitted.dropped,
                        "the names do not fit in the field: the last ones were left out"
                    );
                }
                values.insert(field.field.clone(), Value::String(fitted.value.clone()));
                writes.push(FieldWrite {
                    object: record.object.clone(),
                    record_id: record.record_id.clone(),
                    field: field.field.clone(),
                    old_value: merge_with.flatten().map(str::to_owned),
                    new_value: fitted.value,
                });
            }
            if worker.is_dry_run(&jobs[job.index]) {
                would_write.entry(job.index).or_default().extend(writes);
                continue;
            }
            if values.is_empty() {
                let unchanged = target(
                    record,
                    TargetStatus::Done,
                    "unchanged: the fields already hold these names",
                );
                resolutions.push(Resolution {
                    job: &jobs[job.index],
                    target: unchanged,
                    writes: Vec::new(),
                });
                continue;
            }
            updates.push(RecordUpdate {
                object: record.object.clone(),
                record_id: record.record_id.clone(),
                values,
            });
            owners.push(Owned {
                index: job.index,
                object: record.object.clone(),
                record_id: record.record_id.clone(),
                writes,
            });
        }
    }
    let outcomes = if updates.is_empty() {
        Vec::new()
    } else {
        match worker.salesforce.update_records(&updates).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                let failure = Failure::of(&error);
                for owner in &owners {
                    failures.insert(owner.index, failure.clone());
                }
                Vec::new()
            }
        }
    };
    for (owner, outcome) in owners.into_iter().zip(outcomes) {
        let job = &jobs[owner.index];
        match outcome {
            Ok(()) => {
                let fields: Vec<&str> = owner.writes.iter().map(|w| w.field.as_str()).collect();
                let done = Target {
                    object: owner.object.clone(),
                    record_id: owner.record_id.clone(),
                    status: TargetStatus::Done,
                    detail: format!("wrote {}", fields.join(", ")),
                };
                resolutions.push(Resolution {
                    job,
                    target: done,
                    writes: owner.writes,
                });
            }
            Err(refused) if refused.is_retryable() => {
                failures.entry(owner.index).or_insert_with(|| Failure {
                    disposition: Disposition::Retry { after: None },
                    message: format!("{} {}: {refused}", owner.object, owner.record_id),
                });
            }
            Err(refused) => {
                telemetry::target_failed(&refused.code);
                tracing::warn!(job_id = %job.id, record_id = %owner.record_id, error = %refused, "record could not be written");
                let dead = Target {
                    object: owner.object.clone(),
                    record_id: owner.record_id.clone(),
                    status: TargetStatus::Dead,
                    detail: refused.to_string(),
                };
                resolutions.push(Resolution {
                    job,
                    target: dead,
                    writes: Vec::new(),
                });
            }
        }
    }
    // Every record's outcome in one transaction: one commit per batch, not one per record.
    if resolutions.is_empty() {
        return Written {
            failures,
            would_write,
        };
    }
    // The writes went out: their record waits for the store rather than being lost.
    let recorded = super::until_recorded("the records' outcomes", || {
        worker.store.resolve_targets(&resolutions)
    })
    .await;
    if let Err(error) = recorded {
        let failure = Failure::of(&error);
        for resolution in &resolutions {
            if let Some(index) = jobs.iter().position(|j| j.id == resolution.job.id) {
                failures.insert(index, failure.clone());
            }
        }
    }
    Written {
        failures,
        would_write,
    }
}

/// One SOQL read: an object's records with merge-mode fields, and the jobs that need them.
struct MergeRead {
    object: String,
    ids: Vec<String>,
    fields: Vec<String>,
    readers: Vec<usize>,
}

/// Current values of the merge-mode fields of every record that has one, by object and
/// 15-character id: one query per object (per 200 records).
async fn read_merge_fields(
    worker: &Worker,
    writers: &[Planned],
    failures: &mut HashMap<usize, Failure>,
) -> HashMap<(String, String), HashMap<String, Option<String>>> {
    let mut reads: HashMap<String, MergeRead> = HashMap::new();
    for job in writers.iter().filter(|j| !failures.contains_key(&j.index)) {
        for record in &job.records {
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
                    readers: Vec::new(),
                });
            read.ids.push(record.record_id.clone());
            for field in fields {
                if !read.fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
                    read.fields.push(field.to_owned());
                }
            }
            read.readers.push(job.index);
        }
    }
    let mut current = HashMap::new();
    for read in reads.into_values() {
        let ids: Vec<&str> = read.ids.iter().map(String::as_str).collect();
        let fields: Vec<&str> = read.fields.iter().map(String::as_str).collect();
        match worker
            .salesforce
            .query_fields(&read.object, &ids, &fields)
            .await
        {
            Ok(values) => {
                for (id15, fields) in values {
                    current.insert(record_key(&read.object, &id15), fields);
                }
            }
            Err(error) => {
                let failure = Failure::of(&error);
                for index in read.readers {
                    failures.insert(index, failure.clone());
                }
            }
        }
    }
    current
}

fn target(record: &RecordPlan, status: TargetStatus, detail: &str) -> Target {
    Target {
        object: record.object.clone(),
        record_id: record.record_id.clone(),
        status,
        detail: detail.to_owned(),
    }
}

/// The job's outcome from its records' outcomes, all attempts included.
async fn summarize(worker: &Worker, job: &Job, plan: &Plan) -> JobResult {
    let targets = worker
        .store
        .targets(&job.id)
        .await
        .map_err(|e| Failure::of(&e))?;
    let written = worker
        .store
        .writes_for_job(&job.id)
        .await
        .map_err(|e| Failure::of(&e))?
        .len();
    let result = json!({ "plan": plan, "targets": targets });
    let failed: Vec<&Target> = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Dead)
        .collect();
    if !failed.is_empty() {
        let details: Vec<String> = failed
            .iter()
            .map(|t| format!("{} {}: {}", t.object, t.record_id, t.detail))
            .collect();
        return Ok(Outcome::RecordsFailed {
            reason: format!(
                "{} of {} records could not be written: {}",
                failed.len(),
                targets.len(),
                details.join("; ")
            ),
            result,
        });
    }
    if written == 0 {
        return Ok(Outcome::Skipped {
            reason: SkipReason::Unchanged,
            result: Some(result),
        });
    }
    Ok(Outcome::Synced {
        summary: format!(
            "wrote {written} field value(s) to {} record(s)",
            targets.len()
        ),
        result,
    })
}
