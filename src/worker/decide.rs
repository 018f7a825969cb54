//! How a job leaves its attempt: the stages' verdict, with the retry policy applied to a
//! failure, logged once per job.

use std::time::Duration;

use super::{Failure, Worker};
use crate::retry::{backoff, Disposition, Jitter};
use crate::store::{Ending, Job, KeptPlan};

impl Worker {
    /// The ending to record for `job`. A failure is retried with backoff while attempts
    /// remain (keeping `plan`), waits without spending an attempt when the upstream asked
    /// for a pause, and is a dead letter otherwise.
    pub(super) fn decide(
        &self,
        job: &Job,
        verdict: Result<Ending, Failure>,
        plan: Option<KeptPlan>,
        jitter: Jitter,
    ) -> Ending {
        let ending = match verdict {
            Ok(Ending::Retry {
                reason,
                delay,
                counts,
                plan: None,
            }) => Ending::Retry {
                reason,
                delay,
                counts,
                plan,
            },
            Ok(ending) => ending,
            Err(failure) => self.retry_policy(job, failure, plan, jitter),
        };
        log(&ending);
        ending
    }

    fn retry_policy(
        &self,
        job: &Job,
        failure: Failure,
        plan: Option<KeptPlan>,
        jitter: Jitter,
    ) -> Ending {
        let Failure {
            disposition,
            message,
        } = failure;
        match disposition {
            Disposition::Defer { after } => Ending::Retry {
                reason: message,
                delay: after,
                counts: false,
                plan,
            },
            Disposition::Retry { after } if job.attempts < self.retry.max_attempts => {
                Ending::Retry {
                    reason: message,
                    delay: backoff(&self.retry, job.attempts, after, jitter),
                    counts: true,
                    plan,
                }
            }
            Disposition::Retry { .. } => Ending::Dead {
                reason: format!("gave up after {} attempts: {message}", job.attempts),
                report: None,
            },
            Disposition::Permanent => Ending::Dead {
                reason: message,
                report: None,
            },
        }
    }
}

fn log(ending: &Ending) {
    match ending {
        Ending::Done { summary, .. } => tracing::info!(outcome = %summary, "job done"),
        Ending::Skipped { reason, .. } => tracing::info!(%reason, "job skipped"),
        Ending::DryRun { summary, report } => {
            for write in &report.would_write {
                tracing::info!(
                    object = %write.object,
                    record_id = %write.record_id,
                    field = %write.field,
                    old_value = write.old_value.as_deref(),
                    new_value = %write.new_value,
                    "dry run: would write"
                );
            }
            tracing::info!(outcome = %summary, "job done as a dry run");
        }
        Ending::Dead {
            reason,
            report: Some(_),
        } => tracing::error!(%reason, "job dead: records could not be written"),
        Ending::Dead { reason, .. } => tracing::error!(%reason, "job dead"),
        Ending::Retry {
            reason,
            delay,
            counts: true,
            ..
        } => {
            tracing::warn!(error = %reason, retry_in_secs = delay.as_secs(), "attempt failed; will retry")
        }
        Ending::Retry { delay, .. } if *delay == Duration::ZERO => {
            tracing::debug!("job postponed: another job of its batch writes the same record")
        }
        Ending::Retry { reason, delay, .. } => {
            tracing::warn!(error = %reason, retry_in_secs = delay.as_secs(), "job deferred; its attempt is not counted")
        }
    }
}
