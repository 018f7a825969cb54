//! Small pure functions over call data and field values.

use super::call::CrmContext;

/// Ids of the `object_type` records linked to the call in Salesforce, in Gong's order,
/// without duplicates. Both names are compared case-insensitively.
pub fn linked_record_ids(context: &[CrmContext], object_type: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let objects = context
        .iter()
        .filter(|system| system.system.trim().eq_ignore_ascii_case("salesforce"))
        .flat_map(|system| &system.objects)
        .filter(|object| object.object_type.trim().eq_ignore_ascii_case(object_type));
    for object in objects {
        let id = object.object_id.trim();
        if !id.is_empty() && !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// Existing names first, then the new ones not already present (case-insensitively).
/// `existing` is split on the separator, ignoring the spaces around it, so a value typed by
/// hand as "Clari,Gong" still counts as two names when the separator is ", ".
pub fn merge_names(existing: Option<&str>, new: &[String], separator: &str) -> Vec<String> {
    let split_on = match separator.trim() {
        "" => separator,
        trimmed => trimmed,
    };
    let current = existing
        .unwrap_or_default()
        .split(split_on)
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let current = dedupe(Vec::new(), current.iter().map(String::as_str));
    dedupe(current, new.iter().map(String::as_str))
}

/// A Salesforce record id: 15 or 18 letters and digits. Ids come from webhook bodies and are
/// spliced into request paths, so anything else is refused.
pub fn is_salesforce_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub(super) fn dedupe<'a>(
    mut names: Vec<String>,
    candidates: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    for candidate in candidates.map(str::trim).filter(|c| !c.is_empty()) {
        let seen = names
            .iter()
            .any(|name| name.to_lowercase() == candidate.to_lowercase());
        if !seen {
            names.push(candidate.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::call::CrmObject;

    fn context(system: &str, objects: &[(&str, &str)]) -> CrmContext {
        CrmContext {
            system: system.into(),
            objects: objects
                .iter()
                .map(|(object_type, object_id)| CrmObject {
                    object_type: (*object_type).into(),
                    object_id: (*object_id).into(),
                })
                .collect(),
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn linked_ids_take_every_matching_object_from_salesforce_only() {
        let ctx = vec![
            context(
                "Salesforce",
                &[
                    ("Account", "0013t00001XyZabAAB"),
                    ("opportunity", "0063t000012AbCdAAK"),
                    ("OPPORTUNITY", "0063t000012AbCeAAK"),
                    ("Opportunity", "0063t000012AbCdAAK"),
                ],
            ),
            context("HubSpot", &[("Opportunity", "12345")]),
            context("salesforce", &[("Opportunity", " 0063t000012AbCfAAK ")]),
        ];
        assert_eq!(
            linked_record_ids(&ctx, "Opportunity"),
            names(&[
                "0063t000012AbCdAAK",
                "0063t000012AbCeAAK",
                "0063t000012AbCfAAK"
            ])
        );
        assert_eq!(
            linked_record_ids(&ctx, "Account"),
            names(&["0013t00001XyZabAAB"])
        );
        assert!(linked_record_ids(&[], "Opportunity").is_empty());
    }

    #[test]
    fn merge_keeps_existing_names_first_and_adds_only_new_ones() {
        let merged = merge_names(Some("Gong, clari"), &names(&["Clari", "Chorus"]), ", ");
        assert_eq!(merged, names(&["Gong", "clari", "Chorus"]));
        let merged = merge_names(Some("Gong,Clari ,"), &names(&["Chorus"]), ", ");
        assert_eq!(merged, names(&["Gong", "Clari", "Chorus"]));
        assert_eq!(
            merge_names(None, &names(&["Clari"]), ", "),
            names(&["Clari"])
        );
    }

    #[test]
    fn salesforce_ids_are_15_or_18_alphanumerics() {
        assert!(is_salesforce_id("0063t000012AbCdAAK"));
        assert!(is_salesforce_id("0063t000012AbCd"));
        assert!(!is_salesforce_id("0063t000012AbC"));
        assert!(!is_salesforce_id("../../limits?x=1"));
        assert!(!is_salesforce_id("0063t000012AbCd/AK"));
    }
}
