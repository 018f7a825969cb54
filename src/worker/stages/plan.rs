//! Stage 3: the plan of each job (pure, in `sync`), and the records it still has to write:
//! records resolved by an earlier attempt are not written again (read for the whole batch
//! at once).

use super::fetch::Sourced;
use super::{Step, Worker};
use crate::store::{Job, Target};
use crate::sync::{self, Plan, RecordPlan};
use crate::worker::Failure;

pub(super) struct Planned {
    pub plan: Plan,
    /// The plan's records not resolved by an earlier attempt.
    pub records: Vec<RecordPlan>,
    /// What earlier attempts resolved.
    pub earlier: Vec<Target>,
}

pub(super) fn plan(worker: &Worker, jobs: &[Job], steps: Vec<Step<Sourced>>) -> Vec<Step<Plan>> {
    jobs.iter()
        .zip(steps)
        .map(|(job, step)| step.map(|sourced| plan_one(worker, job, sourced)))
        .collect()
}

/// The records each planned job has left, given what earlier attempts resolved.
pub(super) async fn unresolved(
    worker: &Worker,
    jobs: &[Job],
    steps: Vec<Step<Plan>>,
) -> Vec<Step<Planned>> {
    let planned_ids: Vec<&str> = jobs
        .iter()
        .zip(&steps)
        .filter(|(_, step)| step.going().is_some())
        .map(|(job, _)| job.id.as_str())
        .collect();
    let earlier = if planned_ids.is_empty() {
        Ok(Default::default())
    } else {
        worker.store.targets_of_jobs(&planned_ids).await
    };
    let mut earlier = match earlier {
        Ok(earlier) => earlier,
        Err(error) => {
            let failure = Failure::of(&error);
            return steps
                .into_iter()
                .map(|step| step.map(|plan| Step::failed(failure.clone(), Some(plan))))
                .collect();
        }
    };
    jobs.iter()
        .zip(steps)
        .map(|(job, step)| {
            step.map(|plan| {
                let earlier = earlier.remove(&job.id).unwrap_or_default();
                let records = plan
                    .records
                    .iter()
                    .filter(|record| !earlier.iter().any(|t| record.is(&t.object, &t.record_id)))
                    .cloned()
                    .collect();
                Step::Going(Planned {
                    plan,
                    records,
                    earlier,
                })
            })
        })
        .collect()
}

fn plan_one(worker: &Worker, job: &Job, sourced: Sourced) -> Step<Plan> {
    let call = match sourced {
        Sourced::Kept(plan) => return Step::Going(plan),
        Sourced::Call(call) => call,
    };
    match sync::plan(&call, &worker.rules, &worker.competitors) {
        Ok(plan) => {
            if !plan.ignored_ids.is_empty() {
                tracing::warn!(job_id = %job.id, ids = ?plan.ignored_ids, "ignoring linked ids that are not Salesforce ids");
            }
            Step::Going(plan)
        }
        Err(reason) => Step::skipped(&reason),
    }
}
