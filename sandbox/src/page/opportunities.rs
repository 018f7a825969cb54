//! One Opportunity in each of the page's views: its Main Competitors, the values selected in
//! its Competitors picklist, and its Competitors related list with who made each row.

use std::fmt::Write;

use competitor_sync_stand_ins::salesforce::{CompetitorRow, Org, Record};
use competitor_sync_stand_ins::seed::{COMPETITORS_PICKLIST, MAIN_COMPETITORS};
use serde_json::{json, Value};

use super::escape;

/// A competitor heard on a seeded call that the picklist deliberately lacks.
const LEFT_OUT: &str = "Wingman";

/// The values selected in the Opportunity's Competitors picklist.
fn picklist_values(record: &Record) -> Vec<&str> {
    record
        .text(COMPETITORS_PICKLIST)
        .into_iter()
        .flat_map(|text| text.split(';'))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .collect()
}

fn made_by(row: &CompetitorRow) -> &'static str {
    if row.created_by_api {
        "api"
    } else {
        "person"
    }
}

/// The Opportunity as `/sandbox/opportunities` lists it.
pub(super) fn summary(org: &Org, record: &Record) -> Value {
    let rows: Vec<Value> = org
        .competitor_rows(record.id())
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id, "name": row.name, "strengths": row.strengths,
                "weaknesses": row.weaknesses, "created_by": made_by(row)
            })
        })
        .collect();
    json!({
        "id": record.id(),
        "name": record.text("Name"),
        "stage": record.text("StageName"),
        "main_competitors": record.text(MAIN_COMPETITORS),
        "competitors_picklist": picklist_values(record),
        "competitor_rows": rows,
        "last_modified": record.text("LastModifiedDate"),
        "api_writes": record.writes,
    })
}

/// Tab-separated: id, Main Competitors, name (the first three, which scripts read), then
/// the picklist's values `;`-joined and the related list's names `;`-joined.
pub(super) fn text_line(org: &Org, record: &Record) -> String {
    let rows: Vec<&str> = org
        .competitor_rows(record.id())
        .into_iter()
        .map(|row| row.name.as_str())
        .collect();
    format!(
        "{}\t{}\t{}\t{}\t{}",
        record.id(),
        record.text(MAIN_COMPETITORS).unwrap_or_default(),
        record.text("Name").unwrap_or_default(),
        picklist_values(record).join(";"),
        rows.join(";")
    )
}

/// The Opportunity's row of the page's table.
pub(super) fn html_row(org: &Org, record: &Record) -> String {
    let written = if record.writes > 0 {
        format!(r#"<span class="written">written {}×</span>"#, record.writes)
    } else {
        String::new()
    };
    let chips: Vec<String> = picklist_values(record)
        .into_iter()
        .map(|value| format!(r#"<span class="chip">{}</span>"#, escape(value)))
        .collect();
    let rows: Vec<String> = org
        .competitor_rows(record.id())
        .into_iter()
        .map(related_row)
        .collect();
    format!(
        "<tr{}><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"competitors\">{}</td><td>{}</td><td>{}</td><td>{} {written}</td></tr>",
        if record.writes > 0 { r#" class="changed""# } else { "" },
        escape(record.text("Name").unwrap_or_default()),
        escape(record.id()),
        escape(record.text("StageName").unwrap_or_default()),
        record
            .text(MAIN_COMPETITORS)
            .map_or_else(|| "<em>empty</em>".to_owned(), escape),
        none_or(&chips, " "),
        none_or(&rows, ""),
        escape(record.text("LastModifiedDate").unwrap_or_default()),
    )
}

/// One row of the Competitors related list: its name, what a person wrote about it, and who
/// made it (the service must never touch a person's rows).
fn related_row(row: &CompetitorRow) -> String {
    let mut html = format!(r#"<div class="row {}">{}"#, made_by(row), escape(&row.name));
    for (label, text) in [
        ("strengths", &row.strengths),
        ("weaknesses", &row.weaknesses),
    ] {
        if let Some(text) = text {
            let _ = write!(html, r#"<br><small>{label}: {}</small>"#, escape(text));
        }
    }
    let by = if row.created_by_api {
        "added by the service"
    } else {
        "added by a person"
    };
    let _ = write!(html, r#" <span class="by">{by}</span></div>"#);
    html
}

fn none_or(parts: &[String], separator: &str) -> String {
    if parts.is_empty() {
        "<em>none</em>".to_owned()
    } else {
        parts.join(separator)
    }
}

/// What the picklist holds, and that a competitor it lacks is left out.
pub(super) fn legend(org: &Org) -> String {
    let values = org.picklist(COMPETITORS_PICKLIST).unwrap_or_default();
    let active: Vec<&str> = values
        .iter()
        .filter(|value| value.active)
        .map(|value| value.value.as_str())
        .collect();
    let mut legend = format!(
        "<code>{}</code> is a restricted multi-select picklist of {} values ({})",
        escape(COMPETITORS_PICKLIST),
        active.len(),
        escape(&active.join(", "))
    );
    if !active.contains(&LEFT_OUT) {
        let _ = write!(
            legend,
            "; {LEFT_OUT} is not one of them, so the service leaves it out"
        );
    }
    legend.push('.');
    legend
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    const GLOBEX: &str = "0065g0000GlbxNBAAA";

    fn globex(org: &Org) -> &Record {
        org.records()
            .iter()
            .find(|record| record.id() == GLOBEX)
            .expect("seeded")
    }

    #[test]
    fn every_view_shows_the_picklist_and_the_related_list() {
        let mut org = Org::seeded(OffsetDateTime::now_utc());
        org.add_competitor_row(GLOBEX, "<Clari>", Some("\"forecasts\""));
        let record = globex(&org);
        let summary = summary(&org, record);
        assert_eq!(summary["main_competitors"], "Outreach");
        assert_eq!(summary["competitors_picklist"], json!(["Outreach"]));
        assert_eq!(summary["competitor_rows"][0]["name"], "Outreach");
        assert_eq!(summary["competitor_rows"][0]["created_by"], "person");
        assert_eq!(
            summary["competitor_rows"][0]["strengths"],
            "Sequencing; large install base"
        );
        assert_eq!(
            text_line(&org, record),
            format!("{GLOBEX}\tOutreach\tGlobex - New Business\tOutreach\tOutreach;<Clari>")
        );
        let html = html_row(&org, record);
        assert!(
            html.contains(r#"<span class="chip">Outreach</span>"#),
            "{html}"
        );
        assert!(html.contains("&lt;Clari&gt;") && html.contains("&quot;forecasts&quot;"));
        assert!(!html.contains("<Clari>"));
        assert!(html.contains("added by a person"));
    }

    #[test]
    fn the_legend_counts_the_values_and_names_what_is_left_out() {
        let mut org = Org::seeded(OffsetDateTime::now_utc());
        let seeded = legend(&org);
        assert!(seeded.contains("of 14 values"), "{seeded}");
        assert!(seeded.contains("Wingman is not one of them"));
        org.set_picklist(COMPETITORS_PICKLIST, &["Clari", "Wingman"])
            .expect("a picklist");
        assert!(!legend(&org).contains("not one of them"));
    }
}
