//! Stage 1: settle what needs no upstream request (test deliveries, unreadable payloads,
//! calls whose webhook context links no record), and find the plans kept from an earlier
//! attempt.

use super::{Step, Worker};
use crate::gong::types::parse_call;
use crate::store::Job;
use crate::sync::{self, Call, Plan, SkipReason};
use crate::worker::Failure;

pub(super) enum Screened {
    /// The call must be fetched; `webhook` is what the delivery said of it.
    Fetch { webhook: Call },
    /// An earlier attempt fetched and planned it, under today's rules.
    Kept(Plan),
}

pub(super) fn screen(worker: &Worker, jobs: &[Job]) -> Vec<Step<Screened>> {
    jobs.iter().map(|job| screen_one(worker, job)).collect()
}

fn screen_one(worker: &Worker, job: &Job) -> Step<Screened> {
    if let Some(plan) = worker.kept_plan(job) {
        return Step::Going(Screened::Kept(plan));
    }
    if job.is_test {
        return Step::skipped(&SkipReason::TestWebhook);
    }
    let webhook = match parse_call(&job.call_data) {
        Ok(call) => call,
        Err(e) => {
            let failure = Failure::permanent(format!("the stored webhook cannot be read: {e}"));
            return Step::failed(failure, None);
        }
    };
    // The webhook's own context decides, when it has one; Gong's copy is used otherwise.
    if !webhook.context.is_empty() {
        if let Err(reason) = sync::check_links(&webhook.context, &worker.rules) {
            return Step::skipped(&reason);
        }
    }
    Step::Going(Screened::Fetch { webhook })
}
