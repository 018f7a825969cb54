//! `[sync]`: the rules mapping Gong trackers to Salesforce fields, the competitor list that
//! gives names their canonical spelling, and the dry-run switch.

use std::collections::HashMap;

use serde::Deserialize;

use super::ConfigError;
use crate::sync::{
    name_key, Competitor, CompetitorList, NameSource, Rule, RuleTarget, UnknownNames,
    COMPETITOR_ROWS,
};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Do everything but the CRM write, recording what would have been written.
    #[serde(default)]
    pub dry_run: bool,
    /// `[[sync.competitors]]`: canonical names and their aliases.
    #[serde(default)]
    pub competitors: Vec<Competitor>,
    /// What becomes of a phrase no competitor of the list matches.
    #[serde(default)]
    pub unknown_names: UnknownNames,
}

impl SyncSettings {
    /// The configured rules, or the single default rule when none is configured.
    pub fn effective_rules(&self) -> Vec<Rule> {
        if self.rules.is_empty() {
            vec![Rule::default()]
        } else {
            self.rules.clone()
        }
    }

    /// The competitor list, ready for matching.
    pub fn competitor_list(&self) -> CompetitorList {
        CompetitorList::new(&self.competitors, self.unknown_names)
    }

    /// Every name and alias has letters or digits, and no spelling belongs to two entries.
    fn validate_competitors(&self) -> Result<(), ConfigError> {
        let mut owners: HashMap<String, usize> = HashMap::new();
        for (index, competitor) in self.competitors.iter().enumerate() {
            let spellings = std::iter::once(("name", &competitor.name))
                .chain(competitor.aliases.iter().map(|alias| ("aliases", alias)));
            for (field, spelling) in spellings {
                let key = format!("sync.competitors[{index}].{field}");
                let normal = name_key(spelling);
                if normal.is_empty() {
                    return Err(ConfigError::invalid(key, "needs letters or digits"));
                }
                match owners.get(&normal) {
                    Some(&owner) if owner != index => {
                        return Err(ConfigError::invalid(
                            key,
                            format!(
                                "`{spelling}` is already a spelling of sync.competitors[{owner}] (\"{}\"): \
                                 names are compared without case, spaces or punctuation",
                                self.competitors[owner].name
                            ),
                        ));
                    }
                    _ => {
                        owners.insert(normal, index);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn validate_rules(&self) -> Result<(), ConfigError> {
        self.validate_competitors()?;
        let rules = self.effective_rules();
        for (index, rule) in rules.iter().enumerate() {
            let key = |name: &str| format!("sync.rules[{index}].{name}");
            if rule.source == NameSource::Transcript && self.competitors.is_empty() {
                return Err(ConfigError::invalid(
                    key("source"),
                    "a transcript rule finds the names of [[sync.competitors]]: list them",
                ));
            }
            if rule.tracker.trim().is_empty() {
                return Err(ConfigError::invalid(key("tracker"), "must not be empty"));
            }
            if !is_api_name(&rule.object) {
                return Err(ConfigError::invalid(
                    key("object"),
                    format!("`{}` is not a Salesforce object API name", rule.object),
                ));
            }
            match (rule.target(), &rule.field) {
                (RuleTarget::CompetitorRows, Some(_)) => {
                    return Err(ConfigError::invalid(
                        key("field"),
                        format!(
                            "a rule on {COMPETITOR_ROWS} adds rows to the Opportunity's Competitors \
                             related list and names no field: remove `field`"
                        ),
                    ));
                }
                (RuleTarget::Field { field, .. }, _) if !is_api_name(field) => {
                    return Err(ConfigError::invalid(
                        key("field"),
                        format!(
                            "`{field}` is not a Salesforce field API name such as `Main_Competitors__c`"
                        ),
                    ));
                }
                _ => {}
            }
            if rule.separator.is_empty() {
                return Err(ConfigError::invalid(key("separator"), "must not be empty"));
            }
            let earlier = rules[..index].iter().find(|earlier| {
                earlier.object.eq_ignore_ascii_case(&rule.object)
                    && earlier
                        .written_field()
                        .eq_ignore_ascii_case(rule.written_field())
            });
            if let Some(earlier) = earlier {
                // A tracker rule and a transcript rule may fill one field together.
                let joinable = earlier.source != rule.source
                    && earlier.mode == rule.mode
                    && earlier.separator == rule.separator;
                if !joinable {
                    return Err(ConfigError::invalid(
                        key("field"),
                        format!(
                            "{}.{} is already written by an earlier rule: two rules share one \
                             field only when one reads the tracker and the other the transcript, \
                             with the same mode and separator",
                            rule.object,
                            rule.written_field()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Salesforce API names are letters, digits and underscores, starting with a letter. They
/// are spliced into URLs and SOQL, so anything else is refused up front.
pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

#[cfg(test)]
mod tests {
    use super::super::tests::env;
    use super::super::Settings;

    fn load(toml: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, toml).expect("write config");
        Settings::load_from(Some(&path), Some(env(&[]))).map_err(|e| e.to_string())
    }

    #[test]
    fn competitors_load_and_a_spelling_of_two_entries_is_refused_by_key() {
        let settings = load(
            "[sync]\nunknown_names = \"drop\"\n\n[[sync.competitors]]\nname = \"Chorus\"\n\
             aliases = [\"chorus.ai\"]\n",
        )
        .expect("valid");
        let list = settings.sync.competitor_list();
        assert_eq!(list.canonical("Chorus AI"), Some("Chorus"));
        let message = load(
            "[[sync.competitors]]\nname = \"Chorus\"\n\n[[sync.competitors]]\nname = \"Gong\"\n\
             aliases = [\"chorus\"]\n",
        )
        .expect_err("a shared spelling");
        assert!(message.contains("sync.competitors[1].aliases"), "{message}");
        let message = load("[[sync.competitors]]\nname = \"...\"\n").expect_err("no letters");
        assert!(message.contains("sync.competitors[0].name"), "{message}");
        let message = load("[sync]\nunknown_names = \"ignore\"\n").expect_err("unknown value");
        assert!(message.contains("unknown_names"), "{message}");
    }

    #[test]
    fn a_transcript_rule_needs_the_list_and_shares_a_field_only_with_a_tracker_rule() {
        let message =
            load("[[sync.rules]]\nsource = \"transcript\"\n").expect_err("no competitor list");
        assert!(message.contains("sync.rules[0].source"), "{message}");
        let list = "[[sync.competitors]]\nname = \"Clari\"\n\n";
        load(&format!(
            "{list}[[sync.rules]]\n\n[[sync.rules]]\nsource = \"transcript\"\nmentioned_by = \"customer\"\n"
        ))
        .expect("a tracker rule and a transcript rule may fill one field");
        let message = load(&format!(
            "{list}[[sync.rules]]\n\n[[sync.rules]]\nsource = \"transcript\"\nmode = \"merge\"\n"
        ))
        .expect_err("different modes");
        assert!(message.contains("sync.rules[1].field"), "{message}");
        let message = load("[[sync.rules]]\nmentioned_by = \"buyer\"\n").expect_err("bad side");
        assert!(message.contains("mentioned_by"), "{message}");
    }

    #[test]
    fn a_related_list_rule_names_no_field_and_a_field_rule_defaults_to_main_competitors() {
        let settings = load(
            "[[sync.rules]]\nobject = \"OpportunityCompetitor\"\n\n[[sync.rules]]\nfield = \"Competitors__c\"\n",
        )
        .expect("valid");
        let rules = settings.sync.effective_rules();
        assert_eq!(rules[0].target(), crate::sync::RuleTarget::CompetitorRows);
        assert_eq!(rules[0].linked_object(), "Opportunity");
        assert_eq!(rules[1].written_field(), "Competitors__c");
        assert_eq!(
            crate::sync::Rule::default().written_field(),
            "Main_Competitors__c"
        );
        let message = load(
            "[[sync.rules]]\nobject = \"OpportunityCompetitor\"\nfield = \"CompetitorName\"\n",
        )
        .expect_err("a field on a related-list rule");
        assert!(message.contains("sync.rules[0].field"), "{message}");
        assert!(message.contains("names no field"), "{message}");
    }
}
