//! What a target field takes, as the org describes it (a text of some length, or a picklist
//! of values), and what became of the names that did not fit it as they were.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::names::{name_key, CompetitorList};

/// A field as the org's describe has it, in the domain's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldShape {
    /// The most characters it holds, when limited.
    pub max_chars: Option<usize>,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text: names joined by the rule's separator.
    #[default]
    Text,
    /// A picklist: only its active `values` may be written; a multi-select one takes several,
    /// joined by `;`.
    Picklist {
        multi: bool,
        values: Vec<PicklistValue>,
    },
}

/// One active value of a picklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicklistValue {
    /// What is written.
    pub value: String,
    /// What people see; a name may match either.
    pub label: String,
}

/// Salesforce joins a multi-select picklist's values with `;`, whatever a rule says.
pub const PICKLIST_SEPARATOR: &str = ";";

impl FieldShape {
    /// The picklist value `name` stands for: the value or label whose key is that of the
    /// name, or of one of its competitor's aliases.
    pub fn picklist_value<'a>(
        values: &'a [PicklistValue],
        name: &str,
        competitors: &CompetitorList,
    ) -> Option<&'a str> {
        let keys: Vec<String> = competitors.spellings(name).map(name_key).collect();
        values
            .iter()
            .find(|v| keys.contains(&name_key(&v.value)) || keys.contains(&name_key(&v.label)))
            .map(|v| v.value.as_str())
    }
}

/// A name the target could not take as it was, and what became of it. Learnt from the
/// target's describe when writing, and kept in the plan so people can see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FitNote {
    pub name: String,
    pub field: String,
    #[serde(flatten)]
    pub outcome: FitOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FitOutcome {
    /// Left out: the picklist has no such value.
    NotAValue,
    /// Written shortened, at a word boundary, to the field's length.
    Shortened { to: String, max_chars: usize },
}

impl fmt::Display for FitNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            FitOutcome::NotAValue => write!(f, "not a value of {}: {}", self.field, self.name),
            FitOutcome::Shortened { to, max_chars } => write!(
                f,
                "shortened to fit {} ({max_chars} characters): {} → {to}",
                self.field, self.name
            ),
        }
    }
}

/// `name` cut to at most `max_chars` characters, at the last word boundary that fits (or
/// mid-word when its first word alone is longer), without trailing spaces or punctuation.
pub fn shorten(name: &str, max_chars: usize) -> String {
    let name = name.trim();
    if name.chars().count() <= max_chars {
        return name.to_owned();
    }
    let cut: String = name.chars().take(max_chars).collect();
    let next_is_boundary = name
        .chars()
        .nth(max_chars)
        .is_some_and(|c| !c.is_alphanumeric());
    let at_word = if next_is_boundary {
        cut.as_str()
    } else {
        match cut.rfind(|c: char| !c.is_alphanumeric()) {
            Some(end) if end > 0 => &cut[..end],
            _ => cut.as_str(),
        }
    };
    let trimmed = at_word.trim_end_matches(|c: char| !c.is_alphanumeric());
    if trimmed.is_empty() {
        cut
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::names::{list_of, UnknownNames};

    fn values(list: &[(&str, &str)]) -> Vec<PicklistValue> {
        list.iter()
            .map(|(value, label)| PicklistValue {
                value: (*value).into(),
                label: (*label).into(),
            })
            .collect()
    }

    #[test]
    fn a_name_matches_a_value_or_label_without_case_and_through_aliases() {
        let picklist = values(&[
            ("Chorus", "Chorus"),
            ("CLARI_INC", "Clari"),
            ("Gong", "Gong"),
        ]);
        let none = CompetitorList::default();
        assert_eq!(
            FieldShape::picklist_value(&picklist, "chorus", &none),
            Some("Chorus")
        );
        assert_eq!(
            FieldShape::picklist_value(&picklist, "Clari", &none),
            Some("CLARI_INC")
        );
        assert_eq!(
            FieldShape::picklist_value(&picklist, "chorus.ai", &none),
            None
        );
        let list = list_of(
            &[("Chorus AI", &["chorus", "chorus.ai"])],
            UnknownNames::Keep,
        );
        assert_eq!(
            FieldShape::picklist_value(&picklist, "Chorus AI", &list),
            Some("Chorus"),
            "the picklist spells it as an alias does"
        );
        assert_eq!(
            FieldShape::picklist_value(&picklist, "Wingman", &list),
            None
        );
    }

    #[test]
    fn names_are_shortened_at_a_word_boundary() {
        assert_eq!(shorten("Clari", 40), "Clari");
        let long = "Acme Revenue Intelligence Platform for Enterprise Teams";
        assert_eq!(shorten(long, 40), "Acme Revenue Intelligence Platform for");
        assert_eq!(shorten("Revenue Intelligence", 20), "Revenue Intelligence");
        assert_eq!(
            shorten("Revenue Intelligence, Inc.", 21),
            "Revenue Intelligence"
        );
        assert_eq!(
            shorten("Supercalifragilistic", 5),
            "Super",
            "one long word is cut"
        );
        assert_eq!(
            shorten("Équipe Öko Système", 10),
            "Équipe Öko",
            "characters, not bytes"
        );
    }

    #[test]
    fn notes_say_what_became_of_the_name() {
        let missed = FitNote {
            name: "Wingman".into(),
            field: "Main_Competitors__c".into(),
            outcome: FitOutcome::NotAValue,
        };
        assert_eq!(
            missed.to_string(),
            "not a value of Main_Competitors__c: Wingman"
        );
    }
}
