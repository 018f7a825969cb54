//! Stage 8: every record's outcome and the values written, recorded for the whole batch in
//! one commit, then each job's ending from its records (all attempts included).

use super::send::Sent;
use super::{Step, Verdict, Worker};
use crate::store::{Ending, FieldWrite, Job, JobReport, Resolution, Target, TargetStatus};
use crate::sync::SkipReason;
use crate::worker::{until_recorded, Failure};

pub(super) async fn record(worker: &Worker, jobs: &[Job], steps: Vec<Step<Sent>>) -> Vec<Verdict> {
    let resolutions: Vec<Resolution<'_>> = jobs
        .iter()
        .zip(&steps)
        .filter_map(|(job, step)| Some((job, step.going()?)))
        .flat_map(|(job, sent)| {
            let resolved = sent
                .resolved
                .iter()
                .map(move |(target, writes)| Resolution {
                    job,
                    target: Some(target.clone()),
                    writes: writes.clone(),
                });
            let pending = (!sent.pending_writes.is_empty()).then(|| Resolution {
                job,
                target: None,
                writes: sent.pending_writes.clone(),
            });
            resolved.chain(pending)
        })
        .collect();
    // The writes went out: their record waits for the store rather than being lost.
    let recorded = if resolutions.is_empty() {
        Ok(())
    } else {
        until_recorded("the records' outcomes", || {
            worker.store.resolve_targets(&resolutions)
        })
        .await
    };
    let unrecorded = recorded.err().map(|error| Failure::of(&error));
    let mut verdicts = Vec::with_capacity(jobs.len());
    for (job, step) in jobs.iter().zip(steps) {
        let verdict = match step {
            Step::Settled(verdict) => verdict,
            Step::Going(sent) => {
                let recorded_any = !sent.resolved.is_empty() || !sent.pending_writes.is_empty();
                let failure = match (&unrecorded, recorded_any) {
                    (Some(failure), true) => Some(failure.clone()),
                    _ => sent.failure.clone(),
                };
                match failure {
                    Some(failure) => Verdict {
                        result: Err(failure),
                        plan: Some(sent.planned.plan),
                    },
                    None => summarize(worker, job, sent).await,
                }
            }
        };
        verdicts.push(verdict);
    }
    verdicts
}

/// The job's ending from its records' outcomes, all attempts included.
async fn summarize(worker: &Worker, job: &Job, sent: Sent) -> Verdict {
    let Sent {
        planned, resolved, ..
    } = sent;
    let written_now: Vec<&FieldWrite> = resolved.iter().flat_map(|(_, writes)| writes).collect();
    // Only a job that resolved records, or created rows, on an earlier attempt has writes of
    // its own to count.
    let rows_earlier = job.attempts > 1 && planned.records.iter().any(|r| r.adds_rows());
    let (written, rows) = if planned.earlier.is_empty() && !rows_earlier {
        count_writes(written_now.into_iter())
    } else {
        match worker.store.writes_for_job(&job.id).await {
            Ok(writes) => count_writes(writes.iter()),
            Err(error) => {
                return Verdict {
                    result: Err(Failure::of(&error)),
                    plan: Some(planned.plan),
                }
            }
        }
    };
    let targets: Vec<Target> = planned
        .earlier
        .into_iter()
        .chain(resolved.into_iter().map(|(target, _)| target))
        .collect();
    let failed: Vec<&Target> = targets
        .iter()
        .filter(|t| t.status == TargetStatus::Dead)
        .collect();
    let ending = if !failed.is_empty() {
        let details: Vec<String> = failed
            .iter()
            .map(|t| format!("{} {}: {}", t.object, t.record_id, t.detail))
            .collect();
        let reason = format!(
            "{} of {} records could not be written: {}",
            failed.len(),
            targets.len(),
            details.join("; ")
        );
        Ending::Dead {
            reason,
            report: Some(report(&planned.plan, targets)),
        }
    } else if written + rows == 0 {
        Ending::Skipped {
            reason: SkipReason::Unchanged.to_string(),
            report: Some(report(&planned.plan, targets)),
        }
    } else {
        let summary = match rows {
            0 => format!(
                "wrote {written} field value(s) to {} record(s)",
                targets.len()
            ),
            rows => format!(
                "wrote {written} field value(s) and created {rows} related-list row(s) for {} record(s)",
                targets.len()
            ),
        };
        Ending::Done {
            summary,
            report: report(&planned.plan, targets),
        }
    };
    Verdict {
        result: Ok(ending),
        plan: Some(planned.plan),
    }
}

/// Field values written, and related-list rows created.
fn count_writes<'a>(writes: impl Iterator<Item = &'a FieldWrite>) -> (usize, usize) {
    writes.fold((0, 0), |(values, rows), write| match write.created_id {
        Some(_) => (values, rows + 1),
        None => (values + 1, rows),
    })
}

fn report(plan: &crate::sync::Plan, targets: Vec<Target>) -> JobReport {
    JobReport {
        plan: Some(plan.clone()),
        targets,
        ..JobReport::default()
    }
}
