//! `/console`: the sign-in form, and once signed in the overview.

use maud::{html, Markup};

use super::layout::{job_link, or_dash, page, readable, status_badge, when};
use super::session::Session;
use crate::http::operator::{JobRow, Overview};
use crate::store::{HourOutcomes, JobStatus};

/// The sign-in form, with what went wrong last time, and where to go after.
pub fn sign_in(problem: Option<&str>, next: &str) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            p { "The operator console shows what happened to each call and replays what failed. Sign in with the service's admin token (" code { "admin.token" } ")." }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form.card method="post" action="/console/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="token" { "Admin token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Sign in" }
            }
        },
    )
}

pub fn overview(overview: &Overview, session: &Session) -> Markup {
    let jobs = &overview.jobs;
    page(
        "Overview",
        Some(session),
        html! {
            section.tiles {
                @for status in JobStatus::ALL {
                    a.tile href={ "/console/jobs?status=" (status.as_str()) } {
                        span.count { (jobs.get(status)) }
                        (status_badge(status))
                    }
                }
            }
            section.card {
                h2 { "Last 24 hours" }
                (chart(&overview.last_24h))
            }
            section.facts {
                dl {
                    dt { "Oldest queued job" }
                    dd { (overview.oldest_queued_age_seconds.map_or_else(|| "none waiting".to_owned(), age)) }
                    dt { "Gong requests today" }
                    dd { (overview.gong_requests_today) " of " (overview.gong_daily_limit) }
                    dt { "Salesforce" }
                    dd { (overview.salesforce_pause.as_deref().unwrap_or("writing")) }
                    dt { "Salesforce API requests" }
                    dd {
                        @match &overview.salesforce_api_usage {
                            Some(usage) if usage.max > 0 => {
                                (usage.used) " of " (usage.max) " used in the last 24 hours ("
                                (usage.used * 100 / usage.max) "%)"
                            }
                            _ => { span.muted { "not reported yet" } }
                        }
                    }
                    dt { "Last catch-up sweep" }
                    dd {
                        @match &overview.sweep {
                            None => { "not run yet" }
                            Some(sweep) => {
                                (sweep.last_success.as_deref().map_or_else(|| "never completed".to_owned(), |at| format!("completed {}", readable(at))))
                                br;
                                span.muted { (or_dash(sweep.last_outcome.as_deref())) }
                            }
                        }
                    }
                }
            }
            section.card {
                h2 { "Dead letters needing a look" }
                @if overview.dead_letters.is_empty() {
                    p.muted { "None." }
                } @else {
                    (dead_letters(&overview.dead_letters))
                    p { a href="/console/jobs?status=dead" { "Every dead job" } }
                }
            }
        },
    )
}

fn dead_letters(rows: &[JobRow]) -> Markup {
    html! {
        ul.plain {
            @for row in rows {
                li {
                    (job_link(&row.job.id)) " "
                    (or_dash(row.title.as_deref())) " · "
                    span.muted { (readable(&row.job.updated_at)) } br;
                    span.error-text { (or_dash(row.job.outcome.as_deref().or(row.job.last_error.as_deref()))) }
                }
            }
        }
    }
}

fn age(seconds: u64) -> String {
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        _ => format!("{} h", seconds / 3600),
    }
}

/// Jobs ended per hour as stacked bars (done, skipped, dead), drawn as SVG: no script.
fn chart(hours: &[HourOutcomes]) -> Markup {
    const BAR: i64 = 12;
    const HEIGHT: u64 = 80;
    let Some(last) = hours.last().map(|h| h.hour_unix_ms) else {
        return html! { p.muted { "No job ended in the last 24 hours." } };
    };
    let now_hour =
        (time::OffsetDateTime::now_utc().unix_timestamp() * 1000 / 3_600_000) * 3_600_000;
    let end = now_hour.max(last);
    let tallest = hours
        .iter()
        .map(|h| h.done + h.skipped + h.dead)
        .max()
        .unwrap_or(1)
        .max(1);
    let totals: (u64, u64, u64) = hours.iter().fold((0, 0, 0), |(d, s, x), h| {
        (d + h.done, s + h.skipped, x + h.dead)
    });
    html! {
        svg.chart viewBox={ "0 0 " (BAR * 24) " " (HEIGHT) } role="img" aria-label="Jobs ended per hour" {
            @for hour in hours {
                @let slot = 23 - (end - hour.hour_unix_ms) / 3_600_000;
                @let x = slot.clamp(0, 23) * BAR;
                @let mut y = HEIGHT;
                @for (count, class) in [(hour.done, "bar-done"), (hour.skipped, "bar-skipped"), (hour.dead, "bar-dead")] {
                    @let height = count * HEIGHT / tallest;
                    @if height > 0 {
                        @let top = { y -= height; y };
                        rect class=(class) x=(x + 1) y=(top) width=(BAR - 2) height=(height) {
                            title { (count) " " (class.trim_start_matches("bar-")) " in the hour from " (when(hour.hour_unix_ms)) }
                        }
                    }
                }
            }
        }
        p.legend {
            span.key.done {} "done " (totals.0) " · "
            span.key.skipped {} "skipped " (totals.1) " · "
            span.key.dead {} "dead " (totals.2)
        }
    }
}
