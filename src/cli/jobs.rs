//! `competitor-sync jobs`: list, show, replay and purge the jobs in the store.

use std::fmt::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use competitor_sync::store::{FieldWrite, JobDetail, JobStatus, JobView, Store, TargetStatus};

/// Widest outcome shown in a list row; `jobs show` prints it whole.
const OUTCOME_WIDTH: usize = 70;

pub async fn list(
    store: &Store,
    status: Option<JobStatus>,
    call_id: Option<&str>,
    limit: u32,
    json: bool,
) -> anyhow::Result<String> {
    let jobs = store.list_jobs(status, call_id, limit).await?;
    let views: Vec<JobView> = jobs.iter().map(JobView::from).collect();
    if json {
        return Ok(serde_json::to_string_pretty(&views)? + "\n");
    }
    if views.is_empty() {
        return Ok("no jobs\n".to_owned());
    }
    let mut out = format!(
        "{:<36}  {:<8}  {:>8}  {:<20}  {:<8}  {:<20}  OUTCOME\n",
        "ID", "STATUS", "ATTEMPTS", "CALL", "FROM", "UPDATED"
    );
    for job in &views {
        let outcome = job
            .outcome
            .as_deref()
            .or(job.last_error.as_deref())
            .unwrap_or("");
        writeln!(
            out,
            "{:<36}  {:<8}  {:>8}  {:<20}  {:<8}  {:<20}  {}",
            job.id,
            job.status.as_str(),
            job.attempts,
            job.call_id,
            job.origin.as_str(),
            short_time(&job.updated_at),
            shorten(outcome, OUTCOME_WIDTH)
        )?;
    }
    Ok(out)
}

pub async fn show(store: &Store, id: &str, json: bool) -> anyhow::Result<String> {
    let detail = JobDetail::load(store, id)
        .await?
        .with_context(|| format!("no job {id} in the store"))?;
    if json {
        return Ok(serde_json::to_string_pretty(&detail)? + "\n");
    }
    let job = &detail.job;
    let mut out = String::new();
    writeln!(out, "job         {}", job.id)?;
    writeln!(
        out,
        "call        {}{}",
        job.call_id,
        if job.is_test { " (test delivery)" } else { "" }
    )?;
    writeln!(out, "from        {}", job.origin)?;
    writeln!(
        out,
        "status      {}{} after {} attempt(s)",
        job.status.as_str(),
        if job.dry_run { " (dry run)" } else { "" },
        job.attempts
    )?;
    writeln!(out, "created     {}", short_time(&job.created_at))?;
    writeln!(out, "updated     {}", short_time(&job.updated_at))?;
    if let Some(next) = &job.next_attempt_at {
        writeln!(out, "next try    {}", short_time(next))?;
    }
    if let Some(outcome) = &job.outcome {
        writeln!(out, "outcome     {outcome}")?;
    }
    if let Some(error) = job
        .last_error
        .as_ref()
        .filter(|e| Some(*e) != job.outcome.as_ref())
    {
        writeln!(out, "last error  {error}")?;
    }
    writeln!(out, "deliveries  {}", detail.deliveries)?;
    if !detail.targets.is_empty() {
        writeln!(out, "records")?;
        for target in &detail.targets {
            let status = match target.status {
                TargetStatus::Done => "done",
                TargetStatus::Dead => "dead",
            };
            writeln!(
                out,
                "  {} {}  {status}  {}",
                target.object, target.record_id, target.detail
            )?;
        }
    }
    out.push_str(&explained_names(&detail));
    out.push_str(&values(&detail, "written"));
    Ok(out)
}

/// Where each planned name came from, and each phrase left out with why; empty without a
/// plan. A field planned for several records is explained once.
fn explained_names(detail: &JobDetail) -> String {
    let Some(plan) = detail.result.as_ref().and_then(|r| r.plan.as_ref()) else {
        return String::new();
    };
    let mut out = String::new();
    for field in plan.fields_once() {
        let _ = writeln!(out, "names       {}", field.field);
        for evidence in &field.evidence {
            let _ = writeln!(out, "  {}", evidence.describe());
        }
        for dropped in &field.dropped {
            let _ = writeln!(out, "  left out: {dropped}");
        }
        for fitted in &field.fitted {
            let _ = writeln!(out, "  {fitted}");
        }
        if let Some(note) = &field.speaker_note {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    out
}

/// The values a job would have written (dry run, from its result) and those it wrote, the
/// latter under `written_header`; empty when there are neither.
pub fn values(detail: &JobDetail, written_header: &str) -> String {
    let would_write = detail
        .result
        .as_ref()
        .map_or(&[][..], |report| report.would_write.as_slice());
    field_writes(
        "would write (dry run, nothing was sent to Salesforce)",
        would_write,
    ) + &field_writes(written_header, &detail.writes)
}

/// `header`, then a line per value: the record, the field, the old value (when it was read)
/// and the new one. Empty for no values.
fn field_writes(header: &str, writes: &[FieldWrite]) -> String {
    if writes.is_empty() {
        return String::new();
    }
    let mut out = format!("{header}\n");
    for write in writes {
        let old = write
            .old_value
            .as_deref()
            .map_or_else(|| "(not read)".to_owned(), |v| format!("{v:?}"));
        let _ = match &write.created_id {
            Some(id) => writeln!(
                out,
                "  {} {}: created row {id}, {} {:?}",
                write.object, write.record_id, write.field, write.new_value
            ),
            None => writeln!(
                out,
                "  {} {}.{}: {old} -> {:?}",
                write.object, write.record_id, write.field, write.new_value
            ),
        };
    }
    out
}

/// Queues dead jobs again: one by id, or all of them.
pub async fn retry(store: &Store, id: Option<&str>, all_dead: bool) -> anyhow::Result<String> {
    match (id, all_dead) {
        (Some(id), false) => {
            if store.retry_dead(id).await? {
                return Ok(format!(
                    "job {id} queued again; the running service picks it up\n"
                ));
            }
            match store.job(id).await? {
                None => bail!("no job {id} in the store"),
                Some(job) => bail!("job {id} is {}: only dead jobs can be retried", job.status),
            }
        }
        (None, true) => {
            let count = store.retry_all_dead().await?;
            Ok(format!(
                "{count} dead job(s) queued again; the running service picks them up\n"
            ))
        }
        _ => bail!("give a job id or --all-dead"),
    }
}

pub async fn purge(store: &Store, older_than: Duration) -> anyhow::Result<String> {
    let count = store.purge_finished(older_than).await?;
    Ok(format!(
        "deleted {count} finished job(s) last updated more than {} ago, with their history\n",
        humantime::format_duration(older_than)
    ))
}

/// "2026-11-25T01:02:03.456Z" -> "2026-11-25 01:02:03".
fn short_time(rfc3339: &str) -> String {
    rfc3339
        .get(..19)
        .map_or_else(|| rfc3339.to_owned(), |t| t.replace('T', " "))
}

fn shorten(text: &str, width: usize) -> String {
    match text.char_indices().nth(width) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
