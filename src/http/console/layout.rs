//! The console's frame and the pieces every page uses. maud escapes every value it is given:
//! call titles, party names, phrases and error messages from Gong or Salesforce are shown as
//! text, never as markup.

use maud::{html, Markup, DOCTYPE};

use super::session::Session;
use crate::store::{rfc3339, JobStatus};

/// A whole page: the header (with navigation and sign-out once signed in) around `body`.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · competitor-sync" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                header {
                    a.brand href="/console" { "competitor-sync" }
                    @if let Some(session) = session {
                        nav {
                            a href="/console" { "Overview" }
                            a href="/console/jobs" { "Jobs" }
                            a href="/console/jobs?status=dead" { "Dead letters" }
                            form.inline method="post" action="/console/sign-out" {
                                (csrf_field(session))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A job's state, as a coloured badge.
pub fn status_badge(status: JobStatus) -> Markup {
    html! { span class={ "badge " (status.as_str()) } { (status.as_str()) } }
}

/// Unix ms as `2026-12-02 10:03:11 UTC`.
pub fn when(unix_ms: i64) -> String {
    readable(&rfc3339(unix_ms))
}

/// An RFC 3339 time as `2026-12-02 10:03:11 UTC` (fractions dropped).
pub fn readable(rfc3339: &str) -> String {
    let Some((date, rest)) = rfc3339.split_once('T') else {
        return rfc3339.to_owned();
    };
    let time: String = rest.chars().take(8).collect();
    format!("{date} {time} UTC")
}

/// A link to a job's page.
pub fn job_link(id: &str) -> Markup {
    html! { a.mono href={ "/console/jobs/" (id) } { (short_id(id)) } }
}

/// A link to a record's history.
pub fn record_link(record_id: &str) -> Markup {
    html! { a.mono href={ "/console/opportunities/" (record_id) } { (record_id) } }
}

/// The first block of a UUID, enough to tell jobs apart on a page.
fn short_id(id: &str) -> &str {
    id.get(..13).unwrap_or(id)
}

/// A line of text, or a dash when there is none.
pub fn or_dash(text: Option<&str>) -> Markup {
    match text.filter(|t| !t.is_empty()) {
        Some(text) => html! { (text) },
        None => html! { span.muted { "—" } },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_upstream_is_escaped() {
        let markup = or_dash(Some("<script>alert(1)</script>")).into_string();
        assert_eq!(markup, "&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(
            readable("2026-12-02T10:03:11.123Z"),
            "2026-12-02 10:03:11 UTC"
        );
    }
}
