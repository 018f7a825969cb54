//! `/console/jobs/{job_id}` and `/console/opportunities/{record_id}`: one job with its call
//! and everything that happened to it, and one record's history.

use maud::{html, Markup};

use super::jobs::table;
use super::layout::{csrf_field, or_dash, page, readable, record_link, status_badge, when};
use super::session::Session;
use crate::http::operator::{JobPage, RecordPage};
use crate::store::{JobStatus, TargetStatus};
use crate::sync::Plan;

pub fn job(job: &JobPage, notice: Option<&str>, session: &Session) -> Markup {
    let view = &job.detail.job;
    let call = &job.call;
    let title = format!("Job {}", view.id);
    page(
        &title,
        Some(session),
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            section.card {
                p { span #job-status { (status_badge(view.status)) } " after " (view.attempts) " attempt(s), from " (view.origin.as_str())
                    @if view.dry_run { " (dry run)" } @if view.is_test { " (test delivery)" } }
                p.outcome { (or_dash(view.outcome.as_deref().or(view.last_error.as_deref()))) }
                @if let Some(next) = &view.next_attempt_at { p.muted { "Next attempt " (readable(next)) } }
                @if matches!(view.status, JobStatus::Dead | JobStatus::Queued) {
                    form method="post" action={ "/console/jobs/" (view.id) "/retry" } {
                        (csrf_field(session))
                        button type="submit" { "Retry now" }
                    }
                }
            }
            section.card {
                h2 { "The call" }
                dl {
                    dt { "Title" } dd { (or_dash(call.title.as_deref())) }
                    dt { "Call id" } dd {
                        @match &call.url {
                            Some(url) => { a.mono href=(url) rel="noreferrer" target="_blank" { (view.call_id) " (Gong)" } }
                            None => { span.mono { (view.call_id) } }
                        }
                    }
                    dt { "Started" } dd { (or_dash(call.started.as_deref())) }
                    dt { "Parties" } dd {
                        @for party in &call.parties {
                            (party.name) @if let Some(side) = &party.affiliation { span.muted { " (" (side) ")" } } br;
                        }
                        @if call.parties.is_empty() { span.muted { "not in the delivery" } }
                    }
                }
            }
            (plan(job))
            (records(job))
            (attempts(job))
            (deliveries(job))
        },
    )
}

fn plan(job: &JobPage) -> Markup {
    let plan = job.detail.result.as_ref().and_then(|r| r.plan.as_ref());
    html! {
        section.card {
            h2 { "What was planned" }
            @match plan {
                None => { p.muted { "No plan: the job did not get that far, or had nothing to write." } }
                Some(plan) => {
                    table {
                        thead { tr { th { "Record" } th { "Field" } th { "Tracker" } th { "Names" } th { "Mode" } } }
                        tbody {
                            @for record in &plan.records {
                                @for field in &record.fields {
                                    tr {
                                        td { (record.object) " " (record_link(&record.record_id)) }
                                        td.mono { (field.field) }
                                        td { (field.tracker) }
                                        td { (field.names.join(&field.separator)) }
                                        td { (format!("{:?}", field.mode).to_lowercase()) }
                                    }
                                }
                            }
                        }
                    }
                    (names_explained(plan))
                    @if !plan.ignored_ids.is_empty() {
                        p.muted { "Ignored (not Salesforce ids): " (plan.ignored_ids.join(", ")) }
                    }
                }
            }
        }
    }
}

/// Where each name came from and each phrase left out, once per field.
fn names_explained(plan: &Plan) -> Markup {
    html! {
        @for field in plan.fields_once() {
            h3.mono { (field.field) }
            ul.evidence {
                @for evidence in &field.evidence { li { (evidence.describe()) } }
                @for dropped in &field.dropped {
                    li.muted { "Left out: " (dropped) }
                }
                @for fitted in &field.fitted { li.muted { (fitted) } }
                @if let Some(note) = &field.speaker_note { li.muted { (note) } }
            }
        }
    }
}

/// A value's "before": the old value, or the row the write created, or that it was not read.
fn before(old: Option<&str>, created_id: Option<&str>) -> Markup {
    match (old, created_id) {
        (_, Some(id)) => html! { span.muted { "(new row " span.mono { (id) } ")" } },
        (Some(old), None) => html! { (old) },
        (None, None) => html! { span.muted { "(not read)" } },
    }
}

fn records(job: &JobPage) -> Markup {
    let detail = &job.detail;
    html! {
        section.card {
            h2 { "Records" }
            @if detail.targets.is_empty() { p.muted { "No record written or failed yet." } }
            ul.plain {
                @for target in &detail.targets {
                    li {
                        span class={ "badge " (if target.status == TargetStatus::Done { "done" } else { "dead" }) } {
                            (if target.status == TargetStatus::Done { "done" } else { "dead" })
                        }
                        " " (target.object) " " (record_link(&target.record_id)) ": " (target.detail)
                    }
                }
            }
            @if !detail.writes.is_empty() {
                h3 { "Values written" }
                table {
                    thead { tr { th { "Record" } th { "Field" } th { "Before" } th { "After" } } }
                    tbody {
                        @for write in &detail.writes {
                            tr {
                                td { (record_link(&write.record_id)) }
                                td.mono { (write.field) }
                                td { (before(write.old_value.as_deref(), write.created_id.as_deref())) }
                                td { (write.new_value) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn attempts(job: &JobPage) -> Markup {
    html! {
        section.card {
            h2 { "Attempts" }
            @if job.attempt_history.is_empty() { p.muted { "None ended yet." } }
            ol.plain {
                @for attempt in &job.attempt_history {
                    li {
                        "#" (attempt.attempt) " · " (when(attempt.ended_at_unix_ms)) " · "
                        strong { (attempt.outcome) } ": " (attempt.detail)
                        @if let Some(next) = attempt.next_attempt_at_unix_ms { span.muted { " (next attempt " (when(next)) ")" } }
                    }
                }
            }
        }
    }
}

fn deliveries(job: &JobPage) -> Markup {
    html! {
        section.card {
            h2 { "Deliveries" }
            @if job.delivery_history.is_empty() { p.muted { "None: the job was queued by the sweep, a backfill or sync." } }
            ul.plain {
                @for delivery in &job.delivery_history {
                    li {
                        strong { (delivery.disposition) } " · " (when(delivery.received_at_unix_ms))
                        " · " (delivery.auth.as_deref().unwrap_or("authentication not recorded"))
                        @if let Some(id) = &delivery.webhook_id { span.muted.mono { " " (id) } }
                    }
                }
            }
        }
    }
}

pub fn record(record: &RecordPage, session: &Session) -> Markup {
    page(
        &format!("Opportunity {}", record.record_id),
        Some(session),
        html! {
            section.card {
                h2 { "Values written" }
                @if record.writes.is_empty() { p.muted { "Nothing written to this record." } }
                @else {
                    table {
                        thead { tr { th { "When" } th { "Field" } th { "Before" } th { "After" } th { "Call" } th { "Job" } } }
                        tbody {
                            @for write in &record.writes {
                                tr {
                                    td { (when(write.written_at_unix_ms)) }
                                    td.mono { (write.field) }
                                    td { (before(write.old_value.as_deref(), write.created_id.as_deref())) }
                                    td { (write.new_value) }
                                    td.mono { (write.call_id) }
                                    td { (super::layout::job_link(&write.job_id)) }
                                }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { "Jobs for this record" }
                (table(&record.jobs))
            }
        },
    )
}
