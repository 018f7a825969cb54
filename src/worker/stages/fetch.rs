//! Stage 2: the batch's calls from Gong, in one request per `gong.batch_size` calls (with
//! their parties and tracker occurrences when a rule filters by speaker), and their
//! transcripts when a rule reads them. Trackers always come from Gong's answer, never from
//! the webhook; the CRM context from the webhook when it had one.

use super::screen::Screened;
use super::{Step, Worker};
use crate::gong::{CallBatch, CallParts, GongError};
use crate::store::Job;
use crate::sync::{Call, Plan, Rule};
use crate::worker::Failure;

/// What a job plans from.
pub(super) enum Sourced {
    Call(Call),
    Kept(Plan),
}

/// What of the calls the rules need from Gong: who spoke only for a rule that filters by
/// side, occurrences only for such a rule over a tracker, transcripts only for a rule that
/// reads them.
fn parts_needed(rules: &[Rule]) -> CallParts {
    CallParts {
        parties: rules.iter().any(Rule::filters_by_side),
        occurrences: rules
            .iter()
            .any(|rule| rule.filters_by_side() && !rule.reads_transcript()),
        transcripts: rules.iter().any(Rule::reads_transcript),
    }
}

pub(super) async fn fetch(
    worker: &Worker,
    jobs: &[Job],
    steps: Vec<Step<Screened>>,
) -> Vec<Step<Sourced>> {
    let mut call_ids: Vec<String> = jobs
        .iter()
        .zip(&steps)
        .filter(|(_, step)| matches!(step.going(), Some(Screened::Fetch { .. })))
        .map(|(job, _)| job.call_id.clone())
        .collect();
    call_ids.sort();
    call_ids.dedup();
    let fetched = if call_ids.is_empty() {
        Ok(CallBatch::default())
    } else {
        // While Salesforce is paused, fetching the calls would only spend Gong quota.
        match worker.salesforce.ensure_not_paused().await {
            Ok(()) => worker
                .gong
                .fetch_calls(
                    &call_ids,
                    worker.gong_batch_size,
                    parts_needed(&worker.rules),
                )
                .await
                .map_err(|e| Failure::of(&e)),
            Err(paused) => Err(Failure::of(&paused)),
        }
    };
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(failure) => {
            return steps
                .into_iter()
                .map(|step| {
                    step.map(|screened| match screened {
                        Screened::Kept(plan) => Step::Going(Sourced::Kept(plan)),
                        Screened::Fetch { .. } => Step::failed(failure.clone(), None),
                    })
                })
                .collect();
        }
    };
    jobs.iter()
        .zip(steps)
        .map(|(job, step)| {
            step.map(|screened| match screened {
                Screened::Kept(plan) => Step::Going(Sourced::Kept(plan)),
                Screened::Fetch { webhook } => match fetched.calls.get(&job.call_id) {
                    Some(call) => {
                        let mut call = call.clone();
                        if !webhook.context.is_empty() {
                            call.context = webhook.context;
                        }
                        Step::Going(Sourced::Call(call))
                    }
                    None => {
                        let call_id = job.call_id.clone();
                        let error = if fetched.not_found.contains(&job.call_id) {
                            GongError::CallNotFound { call_id }
                        } else {
                            GongError::CallMissing { call_id }
                        };
                        Step::failed(Failure::of(&error), None)
                    }
                },
            })
        })
        .collect()
}
