//! Stages 4 to 8, around the records a batch writes: one job per record per batch (a later
//! job wanting a record an earlier one writes waits for the next batch, so a merge always
//! reads what the previous write left), and the batch's records locked against every other
//! batch, of this process or another, while they are described, computed, sent and recorded.

use std::collections::HashSet;
use std::time::Duration;

use super::plan::Planned;
use super::{compute, describe, record, send, Step, Verdict, Worker};
use crate::store::{Ending, Job, RecordKey};
use crate::worker::Failure;

pub(super) async fn write(
    worker: &Worker,
    jobs: &[Job],
    steps: Vec<Step<Planned>>,
) -> Vec<Verdict> {
    let (steps, keys) = take_records(steps);
    let holder = uuid::Uuid::now_v7().to_string();
    if !keys.is_empty() {
        if let Err(error) = worker
            .store
            .lock_records(&holder, &keys, worker.lease)
            .await
        {
            let failure = Failure::of(&error);
            return settle_all(steps, &failure);
        }
    }
    let (steps, limits) = describe::describe(worker, steps).await;
    let steps = compute::compute(worker, steps, &limits).await;
    let steps = send::send(worker, jobs, steps).await;
    let verdicts = record::record(worker, jobs, steps).await;
    if !keys.is_empty() {
        if let Err(error) = worker.store.unlock_records(&holder).await {
            tracing::warn!(%error, "could not unlock the batch's records; their locks expire with the lease");
        }
    }
    verdicts
}

/// Postpones every job that wants a record an earlier job of the batch writes; returns the
/// records the others write.
fn take_records(steps: Vec<Step<Planned>>) -> (Vec<Step<Planned>>, Vec<RecordKey>) {
    let mut taken = HashSet::new();
    let steps = steps
        .into_iter()
        .map(|step| {
            step.map(|planned| {
                let keys: Vec<RecordKey> = planned
                    .records
                    .iter()
                    .map(|r| RecordKey::new(&r.object, &r.record_id))
                    .collect();
                if keys.iter().any(|key| taken.contains(key)) {
                    let postponed = Ending::Retry {
                        reason: "waiting for another job writing the same record".to_owned(),
                        delay: Duration::ZERO,
                        counts: false,
                        plan: None,
                    };
                    return Step::ended(postponed, Some(planned.plan));
                }
                taken.extend(keys);
                Step::Going(planned)
            })
        })
        .collect();
    let mut keys: Vec<RecordKey> = taken.into_iter().collect();
    keys.sort();
    (steps, keys)
}

fn settle_all(steps: Vec<Step<Planned>>, failure: &Failure) -> Vec<Verdict> {
    steps
        .into_iter()
        .map(|step| {
            step.settle(|planned| Verdict {
                result: Err(failure.clone()),
                plan: Some(planned.plan),
            })
        })
        .collect()
}
