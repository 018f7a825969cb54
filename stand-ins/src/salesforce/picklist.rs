//! The org's picklist values. They belong to the org, not to the schema's code: an admin
//! edits them while the service runs, so the describe and the checks of every write read the
//! values as they are now.

use serde_json::{json, Value};

use super::error::SfError;
use crate::seed;

/// One value of a picklist, as describe's `picklistValues` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicklistValue {
    pub value: String,
    pub label: String,
    /// Inactive values stay listed (records may still hold them) but cannot be written.
    pub active: bool,
}

impl PicklistValue {
    fn active(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            label: value.to_owned(),
            active: true,
        }
    }

    fn json(&self) -> Value {
        json!({
            "active": self.active, "defaultValue": false, "label": self.label,
            "validFor": null, "value": self.value
        })
    }
}

struct Picklist {
    field: &'static str,
    /// Whether a write may only name active values (`restrictedPicklist`).
    restricted: bool,
    values: Vec<PicklistValue>,
}

/// The picklist fields of the org's Opportunities and their values.
pub(super) struct Picklists(Vec<Picklist>);

/// StageName's standard values, as the recorded describe lists them.
const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

impl Picklists {
    /// A new org's picklists: the standard, unrestricted StageName, and the restricted
    /// Competitors multi-select with its seeded values.
    pub(super) fn standard() -> Self {
        let mut competitors: Vec<PicklistValue> = seed::COMPETITORS_PICKLIST_VALUES
            .iter()
            .map(|value| PicklistValue::active(value))
            .collect();
        competitors.extend(
            seed::COMPETITORS_PICKLIST_INACTIVE
                .iter()
                .map(|value| PicklistValue {
                    active: false,
                    ..PicklistValue::active(value)
                }),
        );
        Self(vec![
            Picklist {
                field: "StageName",
                restricted: false,
                values: STAGES
                    .iter()
                    .map(|value| PicklistValue::active(value))
                    .collect(),
            },
            Picklist {
                field: seed::COMPETITORS_PICKLIST,
                restricted: true,
                values: competitors,
            },
        ])
    }

    /// Picklist `field` (any case, as Salesforce takes field names).
    fn get(&self, field: &str) -> Option<&Picklist> {
        self.0
            .iter()
            .find(|list| list.field.eq_ignore_ascii_case(field))
    }

    /// The values of picklist `field`, active and inactive.
    pub(super) fn values(&self, field: &str) -> Option<&[PicklistValue]> {
        self.get(field).map(|list| list.values.as_slice())
    }

    /// Describe's `picklistValues` and `restrictedPicklist` of `field`.
    pub(super) fn describe(&self, field: &str) -> (Value, bool) {
        self.get(field).map_or((json!([]), false), |list| {
            let values: Vec<Value> = list.values.iter().map(PicklistValue::json).collect();
            (json!(values), list.restricted)
        })
    }

    /// Makes `active` the active values of picklist `field` (any case), as an admin
    /// editing it would: values left out become inactive and stay listed, new ones are
    /// appended. False when `field` is not a picklist.
    pub(super) fn set(&mut self, field: &str, active: &[&str]) -> bool {
        let found = self
            .0
            .iter_mut()
            .find(|list| list.field.eq_ignore_ascii_case(field));
        let Some(list) = found else {
            return false;
        };
        for value in &mut list.values {
            value.active = active.contains(&value.value.as_str());
        }
        for value in active {
            if !list.values.iter().any(|known| known.value == *value) {
                list.values.push(PicklistValue::active(value));
            }
        }
        true
    }

    /// `text` as picklist `field` stores it, if a restricted field has every value in it
    /// active: a multi-select's values split on `;`, their surrounding spaces trimmed and
    /// each kept once; values compared exactly (Salesforce takes a restricted value only as
    /// defined). Fields with no picklist of the org's take any text.
    pub(super) fn check(
        &self,
        field: &str,
        label: &str,
        multi: bool,
        text: &str,
    ) -> Result<String, SfError> {
        let Some(list) = self.get(field) else {
            return Ok(text.to_owned());
        };
        let mut chosen: Vec<&str> = Vec::new();
        let parts = if multi {
            text.split(';').map(str::trim).collect()
        } else {
            vec![text]
        };
        for part in parts.into_iter().filter(|part| !part.is_empty()) {
            let known = || {
                list.values
                    .iter()
                    .any(|value| value.active && value.value == part)
            };
            if list.restricted && !known() {
                return Err(SfError::on_field(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{label}: bad value for restricted picklist field: {part}"),
                    field,
                ));
            }
            if !chosen.contains(&part) {
                chosen.push(part);
            }
        }
        Ok(chosen.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELD: &str = seed::COMPETITORS_PICKLIST;

    fn check(lists: &Picklists, text: &str) -> Result<String, String> {
        lists
            .check(FIELD, "Competitors", true, text)
            .map_err(|error| format!("{}: {}", error.code, error.message))
    }

    #[test]
    fn a_restricted_multi_select_takes_active_values_only_exactly_as_defined() {
        let lists = Picklists::standard();
        assert_eq!(check(&lists, "Clari;Outreach"), Ok("Clari;Outreach".into()));
        assert_eq!(
            check(&lists, " Clari ; People.ai;Clari;"),
            Ok("Clari;People.ai".into()),
            "trimmed, empty parts and repeats dropped"
        );
        assert_eq!(
            check(&lists, "Clari;Wingman"),
            Err("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Competitors: bad value for restricted picklist field: Wingman".into())
        );
        assert!(check(&lists, "XANT").is_err(), "inactive");
        assert!(check(&lists, "clari").is_err(), "case matters");
        let stage = lists.check("StageName", "Stage", false, "Anything");
        assert_eq!(stage, Ok("Anything".into()), "StageName is unrestricted");
    }

    #[test]
    fn set_keeps_values_left_out_as_inactive_and_appends_new_ones() {
        let mut lists = Picklists::standard();
        assert!(lists.set(FIELD, &["Clari", "Wingman"]));
        assert_eq!(check(&lists, "Wingman;Clari"), Ok("Wingman;Clari".into()));
        assert!(check(&lists, "Outreach").is_err());
        let values = lists.values(FIELD).expect("a picklist");
        assert_eq!(values.len(), 16, "14 + XANT + Wingman");
        assert_eq!(values.iter().filter(|value| value.active).count(), 2);
        assert_eq!(
            values.last().map(|value| value.value.as_str()),
            Some("Wingman")
        );
        assert!(!lists.set("Name", &["x"]), "not a picklist");
    }

    #[test]
    fn the_describe_lists_every_value_in_order_with_its_state() {
        let (values, restricted) = Picklists::standard().describe(FIELD);
        assert!(restricted);
        assert_eq!(
            values[0],
            json!({"active": true, "defaultValue": false, "label": "Chorus",
                   "validFor": null, "value": "Chorus"})
        );
        assert_eq!(values[14]["value"], "XANT");
        assert_eq!(values[14]["active"], false);
        assert_eq!(Picklists::standard().describe("Name"), (json!([]), false));
    }
}
