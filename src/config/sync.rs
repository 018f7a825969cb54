//! `[sync]`: the rules mapping Gong trackers to Salesforce fields, and the dry-run switch.

use serde::Deserialize;

use super::ConfigError;
use crate::sync::Rule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Do everything but the CRM write, recording what would have been written.
    #[serde(default)]
    pub dry_run: bool,
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

    pub(super) fn validate_rules(&self) -> Result<(), ConfigError> {
        let rules = self.effective_rules();
        for (index, rule) in rules.iter().enumerate() {
            let key = |name: &str| format!("sync.rules[{index}].{name}");
            if rule.tracker.trim().is_empty() {
                return Err(ConfigError::invalid(key("tracker"), "must not be empty"));
            }
            if !is_api_name(&rule.object) {
                return Err(ConfigError::invalid(
                    key("object"),
                    format!("`{}` is not a Salesforce object API name", rule.object),
                ));
            }
            if !is_api_name(&rule.field) {
                return Err(ConfigError::invalid(
                    key("field"),
                    format!(
                        "`{}` is not a Salesforce field API name such as `Main_Competitors__c`",
                        rule.field
                    ),
                ));
            }
            if rule.separator.is_empty() {
                return Err(ConfigError::invalid(key("separator"), "must not be empty"));
            }
            let clash = rules[..index].iter().any(|earlier| {
                earlier.object.eq_ignore_ascii_case(&rule.object)
                    && earlier.field.eq_ignore_ascii_case(&rule.field)
            });
            if clash {
                return Err(ConfigError::invalid(
                    key("field"),
                    format!(
                        "{}.{} is already written by an earlier rule: two rules cannot own one field",
                        rule.object, rule.field
                    ),
                ));
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
