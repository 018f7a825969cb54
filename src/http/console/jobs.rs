//! `/console/jobs`: the jobs a filter selects (the filter is the query string, so a view can
//! be bookmarked and shared), newest first, paged, and the replay of its dead jobs.

use maud::{html, Markup};

use super::layout::{csrf_field, job_link, or_dash, page, readable, record_link, status_badge};
use super::session::Session;
use crate::http::operator::{FilterParams, JobRow, JobsPage};
use crate::store::{JobOrigin, JobStatus};

/// What the list page shows besides its rows.
pub struct ListContext<'a> {
    pub params: &'a FilterParams,
    /// Dead jobs among those the filter selects.
    pub dead: u64,
    /// Jobs just queued again by the replay form.
    pub retried: Option<u64>,
}

pub fn jobs(list: &JobsPage, context: &ListContext<'_>, session: &Session) -> Markup {
    let params = context.params;
    page(
        "Jobs",
        Some(session),
        html! {
            @if let Some(retried) = context.retried {
                p.notice role="status" { (retried) " dead job(s) queued again." }
            }
            (filter_form(params))
            p.muted { (list.total) " job(s) match." }
            @if context.dead > 0 {
                form.card.replay method="post" action="/console/jobs/retry" {
                    (csrf_field(session))
                    (hidden_filter(params))
                    label {
                        input type="checkbox" name="confirm" value="yes" required;
                        " Yes, queue these " (context.dead) " dead job(s) again"
                    }
                    button type="submit" { "Retry every dead job matching this filter (" (context.dead) ")" }
                }
            }
            (table(&list.jobs))
            (pager(list, params))
        },
    )
}

fn filter_form(params: &FilterParams) -> Markup {
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        form.filters method="get" action="/console/jobs" {
            label { "State"
                select name="status" {
                    option value="" { "any" }
                    @for status in JobStatus::ALL {
                        option value=(status.as_str()) selected[params.status.as_deref() == Some(status.as_str())] { (status.as_str()) }
                    }
                }
            }
            label { "From"
                select name="origin" {
                    option value="" { "anywhere" }
                    @for origin in JobOrigin::ALL {
                        option value=(origin.as_str()) selected[params.origin.as_deref() == Some(origin.as_str())] { (origin.as_str()) }
                    }
                }
            }
            label { "Call id" input type="text" name="call_id" inputmode="numeric" value=(value(&params.call_id)); }
            label { "Opportunity id" input type="text" name="record_id" value=(value(&params.record_id)); }
            label { "Changed since" input type="date" name="since" value=(value(&params.since)); }
            label { "Before" input type="date" name="until" value=(value(&params.until)); }
            label { "Error contains" input type="search" name="q" value=(value(&params.q)); }
            button type="submit" { "Filter" }
        }
    }
}

/// The filter as hidden fields, for the replay form.
fn hidden_filter(params: &FilterParams) -> Markup {
    let fields = [
        ("status", &params.status),
        ("origin", &params.origin),
        ("call_id", &params.call_id),
        ("record_id", &params.record_id),
        ("since", &params.since),
        ("until", &params.until),
        ("q", &params.q),
    ];
    html! {
        @for (name, value) in fields {
            @if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                input type="hidden" name=(name) value=(value);
            }
        }
    }
}

/// The rows, also used by the Opportunity page.
pub fn table(rows: &[JobRow]) -> Markup {
    html! {
        div.scroll {
            table.jobs {
                thead { tr {
                    th { "Job" } th { "Call" } th { "Opportunities" } th { "Competitors" }
                    th { "State" } th { "Attempts" } th { "Updated" } th { "Outcome" }
                } }
                tbody {
                    @for row in rows {
                        tr {
                            td { (job_link(&row.job.id)) br; span.muted { (row.job.origin.as_str()) } }
                            td {
                                (or_dash(row.title.as_deref())) br;
                                @match &row.call_url {
                                    Some(url) => { a.mono href=(url) rel="noreferrer" target="_blank" { (row.job.call_id) } }
                                    None => { span.mono { (row.job.call_id) } }
                                }
                            }
                            td { @for id in &row.opportunities { (record_link(id)) br; } }
                            td { (row.competitors.join(", ")) }
                            td { (status_badge(row.job.status)) }
                            td.number { (row.job.attempts) }
                            td { (readable(&row.job.updated_at)) }
                            td.outcome { (or_dash(row.job.outcome.as_deref().or(row.job.last_error.as_deref()))) }
                        }
                    }
                }
            }
        }
    }
}

fn pager(list: &JobsPage, params: &FilterParams) -> Markup {
    let shown_to = u64::from(list.offset) + list.jobs.len() as u64;
    let link = |offset: u32| {
        let mut query = url_query(params);
        query.push(("offset", offset.to_string()));
        format!("/console/jobs?{}", query_string(&query))
    };
    html! {
        nav.pager {
            @if list.offset > 0 {
                a href=(link(list.offset.saturating_sub(list.limit))) { "← Newer" }
            }
            span.muted { ((u64::from(list.offset) + 1).min(shown_to)) "–" (shown_to) " of " (list.total) }
            @if shown_to < list.total {
                a href=(link(list.offset + list.limit)) { "Older →" }
            }
        }
    }
}

/// The filter's parameters, as pairs for a query string.
pub fn url_query(params: &FilterParams) -> Vec<(&'static str, String)> {
    [
        ("status", &params.status),
        ("origin", &params.origin),
        ("call_id", &params.call_id),
        ("record_id", &params.record_id),
        ("since", &params.since),
        ("until", &params.until),
        ("q", &params.q),
    ]
    .into_iter()
    .filter_map(|(name, value)| {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| (name, v.to_owned()))
    })
    .collect()
}

/// Pairs as a query string, percent-encoded.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
