//! What a person (or a script) looks at: a read-only page listing the Opportunities (their
//! Main Competitors, Competitors picklist and Competitors related list) beside the seeded
//! calls, the same list as JSON and as text, and a health probe.

mod opportunities;

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use competitor_sync_stand_ins::salesforce::SalesforceApi;
use competitor_sync_stand_ins::seed;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Pages {
    pub salesforce: Arc<SalesforceApi>,
    pub calls: Arc<Vec<Value>>,
}

pub fn router(pages: Pages) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/sandbox/opportunities", get(opportunities_json))
        .route("/sandbox/opportunities.txt", get(opportunities_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(pages)
}

async fn opportunities_json(State(pages): State<Pages>) -> Json<Value> {
    let org = pages.salesforce.org();
    let list: Vec<Value> = org
        .records()
        .iter()
        .map(|record| opportunities::summary(&org, record))
        .collect();
    Json(json!({ "opportunities": list }))
}

/// One line per Opportunity, tab-separated (for shell scripts): id, Main Competitors, name,
/// the Competitors picklist's values and the Competitors related list's names.
async fn opportunities_text(State(pages): State<Pages>) -> Response {
    let org = pages.salesforce.org();
    let mut text = String::new();
    for record in org.records() {
        let _ = writeln!(text, "{}", opportunities::text_line(&org, record));
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn index(State(pages): State<Pages>) -> Html<String> {
    let (rows, legend) = {
        let org = pages.salesforce.org();
        let rows: String = org
            .records()
            .iter()
            .map(|record| opportunities::html_row(&org, record))
            .collect();
        (rows, opportunities::legend(&org))
    };
    let calls = call_rows(&pages.calls);
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2">
<title>Sandbox: Opportunities and their Main Competitors</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
th, td {{ text-align: left; padding: .4rem .8rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
th {{ background: #f4f4f6; }}
tr.changed td {{ background: #eefbea; }}
td.competitors {{ font-weight: 600; }}
.written {{ color: #2a7a1a; font-size: .85em; }}
.chip {{ display: inline-block; padding: .05rem .5rem; margin: .1rem; border-radius: 1rem; background: #e8eefc; font-size: .85em; }}
.row {{ margin-bottom: .3rem; }}
.row small {{ color: #555; }}
.by {{ font-size: .75em; color: #777; }}
.row.api .by {{ color: #2a7a1a; }}
code {{ font-size: .85em; color: #555; }}
p {{ max-width: 60rem; }}
</style>
</head>
<body>
<h1>Salesforce (sandbox): Opportunities</h1>
<p>competitor-sync writes the competitors Gong heard on each call into the linked
Opportunities, where its rules say: <code>Main_Competitors__c</code>, the Competitors
picklist, the Competitors related list. Fire the seeded calls' webhooks with
<code>competitor-sync-sandbox fire</code> and watch this page (it refreshes every 2 seconds).
Rows written through the API are green.</p>
<p class="legend">{legend}</p>
<table>
<tr><th>Opportunity</th><th>Id</th><th>Stage</th><th>Main Competitors</th><th>Competitors (picklist)</th><th>Competitors related list</th><th>Last modified (UTC)</th></tr>
{rows}
</table>
<h2>Gong (sandbox): calls</h2>
<p>What the webhooks announce. A call with no Opportunity, or whose Competitors tracker
heard nothing, leaves Salesforce alone.</p>
<table>
<tr><th>Started (UTC)</th><th>Call</th><th>Linked Opportunities</th><th>Competitors heard</th></tr>
{calls}
</table>
</body>
</html>
"#
    ))
}

/// The seeded calls, newest first: when, which call, the Opportunities it links, and the
/// competitors its tracker heard.
fn call_rows(calls: &[Value]) -> String {
    let mut rows = String::new();
    for call in calls.iter().rev() {
        let opportunities: Vec<String> = call["context"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|system| system["objects"].as_array())
            .flatten()
            .filter(|object| object["objectType"] == "Opportunity")
            .map(|object| {
                let name = object["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|field| field["name"] == "Name")
                    .and_then(|field| field["value"].as_str())
                    .unwrap_or_default();
                escape(name)
            })
            .collect();
        let heard: Vec<String> = call["content"]["trackers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|tracker| tracker["name"] == "Competitors")
            .filter_map(|tracker| tracker["phrases"].as_array())
            .flatten()
            .filter_map(|phrase| phrase["phrase"].as_str())
            .map(escape)
            .collect();
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}<br><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(call["metaData"]["started"].as_str().unwrap_or_default()),
            escape(seed::call_title(call)),
            escape(seed::call_id(call)),
            if opportunities.is_empty() {
                "<em>none</em>".to_owned()
            } else {
                opportunities.join("<br>")
            },
            if heard.is_empty() {
                "<em>none</em>".to_owned()
            } else {
                heard.join(", ")
            },
        );
    }
    rows
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            super::escape(r#"<b>"Clari" & 'Gong'</b>"#),
            "&lt;b&gt;&quot;Clari&quot; &amp; &#39;Gong&#39;&lt;/b&gt;"
        );
    }
}
