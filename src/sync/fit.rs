//! Fitting names into a field: merging with what it holds, leaving out what does not fit,
//! and knowing when a write would change nothing.

use std::collections::HashMap;

use super::plan::RecordPlan;
use super::rules::WriteMode;
use super::values::merge_names;

/// One field's new value, with what it held (when it was read, for a merge rule) and the
/// names left out because the field is too short for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: String,
    pub dropped: Vec<String>,
}

/// What to write to one record: a change for each of its fields whose value would change.
/// `current` holds the values read for the record's merge fields, by field name;
/// `max_chars` gives a field's length, when it has one.
pub fn record_changes(
    record: &RecordPlan,
    current: Option<&HashMap<String, Option<String>>>,
    max_chars: impl Fn(&str) -> Option<usize>,
) -> Vec<FieldChange> {
    record
        .fields
        .iter()
        .filter_map(|field| {
            let merge_with = (field.mode == WriteMode::Merge).then(|| {
                current
                    .and_then(|fields| fields.get(&field.field))
                    .and_then(Option::as_deref)
            });
            let fitted = field_value(
                &field.names,
                &field.separator,
                merge_with,
                max_chars(&field.field),
            )?;
            Some(FieldChange {
                field: field.field.clone(),
                old: merge_with.flatten().map(str::to_owned),
                new: fitted.value,
                dropped: fitted.dropped,
            })
        })
        .collect()
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
}
