//! The Competitors related list: which rows to add to an Opportunity, given the rows it has.
//! Rows are only ever added: a row a person created, or one added by an earlier attempt, is
//! never changed or removed.

use super::names::{name_key, CompetitorList};
use super::plan::FieldPlan;
use super::shape::{shorten, FitNote, FitOutcome};

/// The rows to create on one Opportunity, and the names shortened to fit the row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsToAdd {
    pub names: Vec<String>,
    pub notes: Vec<FitNote>,
}

/// The names of `field` that `existing` (the Opportunity's rows' names) lacks, each once,
/// shortened to `max_chars` at a word boundary. Names are compared by key and through the
/// competitor list, so a person's row `chorus.ai` counts as `Chorus`.
pub fn rows_to_add(
    field: &FieldPlan,
    existing: &[String],
    max_chars: Option<usize>,
    competitors: &CompetitorList,
) -> RowsToAdd {
    let key = |name: &str| name_key(competitors.canonical(name).unwrap_or(name));
    let mut held: Vec<String> = existing.iter().map(|name| key(name)).collect();
    let mut rows = RowsToAdd::default();
    for name in &field.names {
        let row_name = match max_chars {
            Some(max) => shorten(name, max),
            None => name.clone(),
        };
        let (full, short) = (key(name), key(&row_name));
        if held.contains(&full) || held.contains(&short) {
            continue;
        }
        if row_name != *name {
            rows.notes.push(FitNote {
                name: name.clone(),
                field: field.field.clone(),
                outcome: FitOutcome::Shortened {
                    to: row_name.clone(),
                    max_chars: max_chars.unwrap_or_default(),
                },
            });
        }
        held.extend([full, short]);
        rows.names.push(row_name);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::names::{list_of, UnknownNames};
    use crate::sync::rules::WriteMode;

    fn field(names: &[&str]) -> FieldPlan {
        FieldPlan {
            field: "CompetitorName".into(),
            tracker: "Competitors".into(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            separator: ", ".into(),
            mode: WriteMode::Overwrite,
            evidence: Vec::new(),
            dropped: Vec::new(),
            speaker_note: None,
            fitted: Vec::new(),
        }
    }

    fn held(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn only_missing_names_become_rows_compared_through_the_list() {
        let list = list_of(&[("Chorus", &["chorus.ai"])], UnknownNames::Keep);
        let rows = rows_to_add(
            &field(&["Clari", "Chorus", "Outreach"]),
            &held(&["chorus.ai", "OUTREACH"]),
            Some(40),
            &list,
        );
        assert_eq!(rows.names, ["Clari"]);
        assert!(rows.notes.is_empty());
        let none = rows_to_add(&field(&["Clari"]), &held(&["Clari"]), Some(40), &list);
        assert!(none.names.is_empty(), "a retried job adds nothing twice");
    }

    #[test]
    fn long_names_are_shortened_noted_and_matched_in_their_short_form() {
        let name = "Acme Revenue Intelligence Platform for Enterprise Teams";
        let none = CompetitorList::default();
        let rows = rows_to_add(&field(&[name]), &[], Some(40), &none);
        assert_eq!(rows.names, ["Acme Revenue Intelligence Platform for"]);
        assert_eq!(
            rows.notes[0].to_string(),
            format!("shortened to fit CompetitorName (40 characters): {name} → Acme Revenue Intelligence Platform for")
        );
        let again = rows_to_add(&field(&[name]), &rows.names, Some(40), &none);
        assert!(
            again.names.is_empty(),
            "the shortened row counts as the name"
        );
    }
}
