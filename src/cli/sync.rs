//! `competitor-sync sync --call-id ID`: one call through the whole pipeline, now.

use std::fmt::Write;

use anyhow::Context;
use competitor_sync::gong::types::is_call_id;
use competitor_sync::store::{JobDetail, JobStatus};
use competitor_sync::worker::Worker;
use serde_json::json;

/// What the command did, and whether it achieved what was asked.
pub struct Report {
    pub text: String,
    pub succeeded: bool,
}

pub async fn run(worker: &Worker, call_id: &str, dry_run: bool) -> anyhow::Result<Report> {
    if !is_call_id(call_id) {
        anyhow::bail!("`{call_id}` is not a Gong call id (up to 20 digits)");
    }
    // Only the id is known: the job takes the call's CRM context from Gong.
    let call_data = json!({ "metaData": { "id": call_id } }).to_string();
    let job_id = worker
        .store
        .enqueue_call(call_id, &call_data, dry_run)
        .await?;
    if !worker.run_now(&job_id).await? {
        return Ok(Report {
            text: format!(
                "job {job_id} was taken by the running service; follow it with \
                 `competitor-sync jobs show {job_id}`\n"
            ),
            succeeded: true,
        });
    }
    let detail = JobDetail::load(&worker.store, &job_id)
        .await?
        .with_context(|| format!("job {job_id} vanished from the store"))?;
    Ok(describe(&detail))
}

/// The call's records and names as planned, then what was (or would have been) written.
pub fn describe(detail: &JobDetail) -> Report {
    let job = &detail.job;
    let mut text = String::new();
    let _ = writeln!(text, "call {}", job.call_id);
    if let Some(plan) = detail.result.as_ref().and_then(|r| r.plan.as_ref()) {
        let linked: Vec<String> = plan
            .records
            .iter()
            .map(|r| format!("{} {}", r.object, r.record_id))
            .collect();
        // Every name once, in the order the plan first has it.
        let mut names: Vec<&str> = Vec::new();
        let planned = plan
            .records
            .iter()
            .flat_map(|r| &r.fields)
            .flat_map(|f| &f.names);
        for name in planned {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let _ = writeln!(text, "  records      {}", linked.join(", "));
        let _ = writeln!(text, "  competitors  {}", names.join(", "));
    }
    text.push_str(&super::jobs::values(detail, "wrote"));
    let outcome = job
        .outcome
        .as_deref()
        .or(job.last_error.as_deref())
        .unwrap_or("");
    let succeeded = matches!(job.status, JobStatus::Done | JobStatus::Skipped);
    match job.status {
        JobStatus::Queued => {
            let _ = writeln!(
                text,
                "not synced yet: {outcome}\njob {} stays queued; the service tries again{}",
                job.id,
                job.next_attempt_at
                    .as_deref()
                    .map(|at| format!(" at {at}"))
                    .unwrap_or_default()
            );
        }
        status => {
            let _ = writeln!(text, "{status}: {outcome}\njob {}", job.id);
        }
    }
    Report { text, succeeded }
}
