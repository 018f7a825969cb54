//! Stage 8: every record's outcome and the values written, recorded for the whole batch in
//! one commit, then each job's ending from its records (all attempts included).

use super::send::Sent;
use super::{Step, Verdict, Worker};
use crate::store::{Ending, Job, JobReport, Resolution, Target, TargetStatus};
use crate::sync::SkipReason;
use crate::worker::{until_recorded, Failure};

pub(super) async fn record(worker: &Worker, jobs: &[Job], steps: Vec<Step<Sent>>) -> Vec<Verdict> {
    let resolutions: Vec<Resolution<'_>> = jobs
        .iter()
        .zip(&steps)
        .filter_map(|(job, step)| Some((job, step.going()?)))
        .flat_map(|(job, sent)| {
            sent.resolved
                .iter()
                .map(move |(target, writes)| Resolution {
                    job,
                    target: target.clone(),
                    writes: writes.clone(),
                })
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
                let failure = match (&unrecorded, sent.resolved.is_empty()) {
                    (Some(failure), false) => Some(failure.clone()),
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
    let written_now = resolved
        .iter()
        .map(|(_, writes)| writes.len())
        .sum::<usize>();
    // Only a job that resolved records on an earlier attempt has writes of its own to count.
    let written = if planned.earlier.is_empty() {
        written_now
    } else {
        match worker.store.writes_for_job(&job.id).await {
            Ok(writes) => writes.len(),
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
    } else if written == 0 {
        Ending::Skipped {
            reason: SkipReason::Unchanged.to_string(),
            report: Some(report(&planned.plan, targets)),
        }
    } else {
        let summary = format!(
            "wrote {written} field value(s) to {} record(s)",
            targets.len()
        );
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

fn report(plan: &crate::sync::Plan, targets: Vec<Target>) -> JobReport {
    JobReport {
        plan: Some(plan.clone()),
        targets,
        ..JobReport::default()
    }
}
