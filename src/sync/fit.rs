//! Fitting names into a field: a text field's separator and length, or a picklist's values;
//! merging with what it holds, leaving out what does not fit, and knowing when a write would
//! change nothing.

use std::collections::HashMap;

use super::names::CompetitorList;
use super::plan::{FieldPlan, RecordPlan};
use super::rules::WriteMode;
use super::shape::{FieldKind, FieldShape, FitNote, FitOutcome, PICKLIST_SEPARATOR};
use super::values::{dedupe, merge_names};

/// One field's new value, with what it held (when it was read, for a merge rule) and the
/// names left out because the field is too short for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: String,
    pub dropped: Vec<String>,
}

/// What to write to one record, and what its fields could not take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFit {
    /// A change for each field whose value would change.
    pub changes: Vec<FieldChange>,
    /// Names a picklist has no value for.
    pub notes: Vec<FitNote>,
    /// Whether every field is a picklist that took none of its names.
    pub nothing_fits: bool,
}

/// What to write to one record. `current` holds the values read for the record's merge
/// fields, by field name; `shape` gives a field's type and length from its describe;
/// `competitors` the aliases a name may match a picklist value by.
pub fn record_changes(
    record: &RecordPlan,
    current: Option<&HashMap<String, Option<String>>>,
    shape: impl Fn(&str) -> FieldShape,
    competitors: &CompetitorList,
) -> RecordFit {
    let mut fit = RecordFit {
        nothing_fits: !record.fields.is_empty(),
        ..RecordFit::default()
    };
    for field in &record.fields {
        let merge_with = (field.mode == WriteMode::Merge).then(|| {
            current
                .and_then(|fields| fields.get(&field.field))
                .and_then(Option::as_deref)
        });
        let shape = shape(&field.field);
        let (names, separator) = match &shape.kind {
            FieldKind::Text => (field.names.clone(), field.separator.as_str()),
            FieldKind::Picklist { multi, values } => {
                let (names, notes) = picklist_names(field, values, *multi, competitors);
                fit.notes.extend(notes);
                (names, PICKLIST_SEPARATOR)
            }
        };
        if names.is_empty() {
            continue;
        }
        fit.nothing_fits = false;
        let single = matches!(shape.kind, FieldKind::Picklist { multi: false, .. });
        let fitted = if single {
            single_value(&names, merge_with)
        } else {
            field_value(&names, separator, merge_with, shape.max_chars)
        };
        if let Some(fitted) = fitted {
            fit.changes.push(FieldChange {
                field: field.field.clone(),
                old: merge_with.flatten().map(str::to_owned),
                new: fitted.value,
                dropped: fitted.dropped,
            });
        }
    }
    fit
}

/// The picklist values the field's names stand for, each once (the first only, for a
/// single-select picklist), and a note for each name without one.
fn picklist_names(
    field: &FieldPlan,
    values: &[super::shape::PicklistValue],
    multi: bool,
    competitors: &CompetitorList,
) -> (Vec<String>, Vec<FitNote>) {
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for name in &field.names {
        match FieldShape::picklist_value(values, name, competitors) {
            Some(value) => found.push(value),
            None => notes.push(FitNote {
                name: name.clone(),
                field: field.field.clone(),
                outcome: FitOutcome::NotAValue,
            }),
        }
    }
    let mut names = dedupe(Vec::new(), found.into_iter());
    if !multi {
        names.truncate(1);
    }
    (names, notes)
}

/// A single-select picklist's value: the first name, unless merge mode finds one selected.
fn single_value(names: &[String], merge_with: Option<Option<&str>>) -> Option<FieldValue> {
    let selected = merge_with.flatten().map(str::trim).unwrap_or_default();
    let first = names.first()?;
    match merge_with {
        Some(_) if !selected.is_empty() => None,
        _ => Some(FieldValue {
            value: first.clone(),
            dropped: Vec::new(),
        }),
    }
}

/// A value to write, and the names left out because the field is too short for them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldValue {
    value: String,
    dropped: Vec<String>,
}

/// The value to write into a field, or `None` when the write would change nothing (or no
/// name fits). `merge_with` is `Some(current value)` in merge mode. When the joined names are
/// longer than `max_chars`, whole names are dropped from the end (the newest in merge mode):
/// Salesforce rejects a long value (`STRING_TOO_LONG`) instead of truncating it.
fn field_value(
    names: &[String],
    separator: &str,
    merge_with: Option<Option<&str>>,
    max_chars: Option<usize>,
) -> Option<FieldValue> {
    let all = match merge_with {
        None => names.to_vec(),
        Some(current) => merge_names(current, names, separator),
    };
    let (kept, dropped) = fit_names(all, separator, max_chars.unwrap_or(usize::MAX));
    if kept.is_empty() {
        return None;
    }
    let value = kept.join(separator);
    let unchanged = merge_with.is_some_and(|current| current.unwrap_or_default().trim() == value);
    (!unchanged).then_some(FieldValue { value, dropped })
}

/// Keeps the longest prefix of `names` whose joined length is at most `max_chars` characters.
fn fit_names(
    mut names: Vec<String>,
    separator: &str,
    max_chars: usize,
) -> (Vec<String>, Vec<String>) {
    let separator_chars = separator.chars().count();
    let joined_chars = |names: &[String]| {
        names.iter().map(|n| n.chars().count()).sum::<usize>()
            + separator_chars * names.len().saturating_sub(1)
    };
    let mut dropped = Vec::new();
    while !names.is_empty() && joined_chars(&names) > max_chars {
        if let Some(last) = names.pop() {
            dropped.insert(0, last);
        }
    }
    (names, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    fn value(names: &[String], sep: &str, merge: Option<Option<&str>>) -> Option<String> {
        field_value(names, sep, merge, None).map(|v| v.value)
    }

    #[test]
    fn field_value_overwrites_or_merges_and_reports_no_change() {
        let new = names(&["Clari", "Chorus"]);
        assert_eq!(value(&new, ", ", None).as_deref(), Some("Clari, Chorus"));
        assert_eq!(
            value(&new, "; ", Some(None)).as_deref(),
            Some("Clari; Chorus")
        );
        assert_eq!(
            value(&new, ", ", Some(Some("Gong"))).as_deref(),
            Some("Gong, Clari, Chorus")
        );
        assert_eq!(value(&new, ", ", Some(Some("Chorus, Clari"))), None);
        // Same names but a hand-typed separator: rewriting it in canonical form is a change.
        assert_eq!(
            value(&new, ", ", Some(Some("Clari,Chorus"))).as_deref(),
            Some("Clari, Chorus")
        );
    }

    #[test]
    fn too_long_values_lose_whole_names_from_the_end() {
        let new = names(&["Clari", "Chorus", "Outreach"]);
        // "Clari, Chorus, Outreach" is 23 characters.
        let fitted = field_value(&new, ", ", None, Some(23)).expect("fits");
        assert_eq!(
            (fitted.value.as_str(), fitted.dropped.len()),
            ("Clari, Chorus, Outreach", 0)
        );
        let fitted = field_value(&new, ", ", None, Some(22)).expect("fits");
        assert_eq!(fitted.value, "Clari, Chorus");
        assert_eq!(fitted.dropped, names(&["Outreach"]));
        let fitted = field_value(&new, ", ", None, Some(6)).expect("fits");
        assert_eq!(fitted.value, "Clari");
        assert_eq!(fitted.dropped, names(&["Chorus", "Outreach"]));
        assert_eq!(
            field_value(&new, ", ", None, Some(4)),
            None,
            "nothing fits: no write"
        );
        // Characters, not bytes, as Salesforce counts them.
        let accented = names(&["Équipe", "Öko"]);
        assert_eq!(
            field_value(&accented, ", ", None, Some(11))
                .expect("fits")
                .value,
            "Équipe, Öko"
        );
    }

    #[test]
    fn merge_drops_new_names_first_and_a_full_field_is_unchanged() {
        let fitted = field_value(
            &names(&["Chorus"]),
            ", ",
            Some(Some("Gong, Clari")),
            Some(12),
        )
        .map(|v| v.value);
        assert_eq!(fitted, None, "no room for Chorus: the field stays as it is");
    }

    fn picklist(multi: bool) -> FieldShape {
        let values = ["Chorus", "Clari", "Gong"]
            .iter()
            .map(|v| crate::sync::PicklistValue {
                value: (*v).into(),
                label: (*v).into(),
            })
            .collect();
        FieldShape {
            max_chars: Some(4099),
            kind: FieldKind::Picklist { multi, values },
        }
    }

    fn record(heard: &[&str], mode: WriteMode) -> RecordPlan {
        RecordPlan {
            object: "Opportunity".into(),
            record_id: "0063t000012AbCdAAK".into(),
            fields: vec![FieldPlan {
                field: "Competitors__c".into(),
                tracker: "Competitors".into(),
                names: names(heard),
                separator: ", ".into(),
                mode,
                evidence: Vec::new(),
                dropped: Vec::new(),
                speaker_note: None,
                fitted: Vec::new(),
            }],
        }
    }

    fn holding(value: &str) -> HashMap<String, Option<String>> {
        HashMap::from([("Competitors__c".to_owned(), Some(value.to_owned()))])
    }

    #[test]
    fn a_multi_select_picklist_takes_its_values_joined_by_semicolons() {
        let none = CompetitorList::default();
        let plan = record(&["clari", "Wingman", "Chorus"], WriteMode::Overwrite);
        let fit = record_changes(&plan, None, |_| picklist(true), &none);
        assert_eq!(
            fit.changes[0].new, "Clari;Chorus",
            "the values' spelling, `;` whatever the rule says"
        );
        assert_eq!(fit.notes.len(), 1);
        assert_eq!(
            fit.notes[0].to_string(),
            "not a value of Competitors__c: Wingman"
        );
        assert!(!fit.nothing_fits);
        let merge = record(&["Chorus", "Gong"], WriteMode::Merge);
        let current = holding("Clari;Chorus");
        let fit = record_changes(&merge, Some(&current), |_| picklist(true), &none);
        assert_eq!(
            fit.changes[0].new, "Clari;Chorus;Gong",
            "values already selected are kept"
        );
        let same = record(&["Chorus"], WriteMode::Merge);
        let fit = record_changes(&same, Some(&current), |_| picklist(true), &none);
        assert!(fit.changes.is_empty(), "already selected: no write");
    }

    #[test]
    fn a_picklist_that_takes_no_name_is_noted_and_a_single_select_takes_the_first() {
        let none = CompetitorList::default();
        let missed = record(&["Wingman", "Avoma"], WriteMode::Overwrite);
        let fit = record_changes(&missed, None, |_| picklist(true), &none);
        assert!(fit.changes.is_empty());
        assert!(fit.nothing_fits);
        assert_eq!(fit.notes.len(), 2);
        let single = record(&["Wingman", "Gong", "Clari"], WriteMode::Overwrite);
        let fit = record_changes(&single, None, |_| picklist(false), &none);
        assert_eq!(fit.changes[0].new, "Gong");
        let merge = record(&["Clari"], WriteMode::Merge);
        let fit = record_changes(&merge, Some(&holding("Gong")), |_| picklist(false), &none);
        assert!(fit.changes.is_empty(), "merge keeps the value selected");
        let text = record(&["Wingman"], WriteMode::Overwrite);
        let fit = record_changes(&text, None, |_| FieldShape::default(), &none);
        assert_eq!(fit.changes[0].new, "Wingman", "a text field takes any name");
    }
}
