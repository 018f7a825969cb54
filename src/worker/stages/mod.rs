//! One batch through typed stages. Each stage takes one [`Step`] per job, in batch order,
//! and returns one per job: a job either goes on with what the stage made of it, or is
//! settled (an ending, or a failure for the retry policy) and passes through untouched.
//!
//! screened → sourced (its call fetched from Gong, or a plan kept from an earlier attempt) →
//! planned → records taken (one job per record per batch, locked across processes) →
//! described → computed → sent → recorded.

mod compute;
mod describe;
mod fetch;
mod plan;
mod record;
mod screen;
mod send;
mod write;

use super::{Failure, Worker};
use crate::store::{Ending, Job};
use crate::sync::{Plan, SkipReason};

/// How a job's attempt came out of the stages, before the retry policy: an ending, or a
/// failure; and the plan, once one was made (kept with the job for a retry).
pub(super) struct Verdict {
    pub result: Result<Ending, Failure>,
    pub plan: Option<Plan>,
}

/// Where one job of a batch stands between two stages.
pub(super) enum Step<T> {
    /// Still going, with what the last stage made of it.
    Going(T),
    Settled(Verdict),
}

impl<T> Step<T> {
    fn failed(failure: Failure, plan: Option<Plan>) -> Self {
        Self::Settled(Verdict {
            result: Err(failure),
            plan,
        })
    }

    fn ended(ending: Ending, plan: Option<Plan>) -> Self {
        Self::Settled(Verdict {
            result: Ok(ending),
            plan,
        })
    }

    fn skipped(reason: &SkipReason) -> Self {
        Self::ended(
            Ending::Skipped {
                reason: reason.to_string(),
                report: None,
            },
            None,
        )
    }

    /// Passes a settled step on as a step of another stage.
    fn map<U>(self, go: impl FnOnce(T) -> Step<U>) -> Step<U> {
        match self {
            Self::Going(value) => go(value),
            Self::Settled(verdict) => Step::Settled(verdict),
        }
    }

    /// The verdict of a settled step, or the one `go` gives a job still going.
    fn settle(self, go: impl FnOnce(T) -> Verdict) -> Verdict {
        match self {
            Self::Going(value) => go(value),
            Self::Settled(verdict) => verdict,
        }
    }

    fn going(&self) -> Option<&T> {
        match self {
            Self::Going(value) => Some(value),
            Self::Settled(_) => None,
        }
    }
}

/// Takes `jobs` through every stage; returns one verdict per job, in order.
pub(super) async fn process(worker: &Worker, jobs: &[Job]) -> Vec<Verdict> {
    let screened = screen::screen(worker, jobs);
    let sourced = fetch::fetch(worker, jobs, screened).await;
    let plans = plan::plan(worker, jobs, sourced);
    let planned = plan::unresolved(worker, jobs, plans).await;
    write::write(worker, jobs, planned).await
}
