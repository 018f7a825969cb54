//! From a call's CRM context and trackers, through the rules, to what each record needs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::call::{CrmContext, Tracker};
use super::rules::{Rule, WriteMode};
use super::values::{competitor_names, is_salesforce_id, linked_record_ids};

/// The writes one call calls for, grouped by record so each record is written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub records: Vec<RecordPlan>,
    /// Linked ids that are not Salesforce ids and were left alone.
    pub ignored_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordPlan {
    pub object: String,
    pub record_id: String,
    pub fields: Vec<FieldPlan>,
}

impl RecordPlan {
    /// Fields whose current value must be read before writing.
    pub fn merge_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|f| f.mode == WriteMode::Merge)
            .map(|f| f.field.as_str())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldPlan {
    pub field: String,
    pub tracker: String,
    pub names: Vec<String>,
    pub separator: String,
    pub mode: WriteMode,
}

/// Why a call leads to no write at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Gong's "Test now" sends a real call flagged `isTest`: recorded, never written.
    TestWebhook,
    NoLinkedRecords {
        objects: Vec<String>,
    },
    NoPhrases {
        trackers: Vec<String>,
    },
    /// Merge mode read the fields and found every name already there.
    Unchanged,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TestWebhook => {
                write!(f, "test webhook (isTest: true): recorded, nothing written")
            }
            Self::NoLinkedRecords { objects } => write!(
                f,
                "the call is not linked to any Salesforce {} in Gong's CRM context",
                objects.join(" or ")
            ),
            Self::NoPhrases { trackers } => write!(
                f,
                "no phrases from tracker {} on this call",
                trackers
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Self::Unchanged => write!(f, "every field already holds these names: nothing to write"),
        }
    }
}

/// Fails when the context links the call to no record any rule writes to. Checked on the
/// webhook's context before fetching the call from Gong, so an unlinked call costs no request.
pub fn check_links(context: &[CrmContext], rules: &[Rule]) -> Result<(), SkipReason> {
    let linked = rules.iter().any(|rule| {
        linked_record_ids(context, &rule.object)
            .iter()
            .any(|id| is_salesforce_id(id))
    });
    if linked {
        Ok(())
    } else {
        Err(no_linked_records(rules))
    }
}

fn no_linked_records(rules: &[Rule]) -> SkipReason {
    SkipReason::NoLinkedRecords {
        objects: unique(rules.iter().map(|r| r.object.as_str())),
    }
}

/// The plan for one call, or why nothing is to be written.
pub fn plan(
    context: &[CrmContext],
    trackers: &[Tracker],
    rules: &[Rule],
) -> Result<Plan, SkipReason> {
    let mut plan = Plan {
        records: Vec::new(),
        ignored_ids: Vec::new(),
    };
    let mut any_linked = false;
    for rule in rules {
        let (ids, ignored): (Vec<String>, Vec<String>) = linked_record_ids(context, &rule.object)
            .into_iter()
            .partition(|id| is_salesforce_id(id));
        for id in ignored {
            if !plan.ignored_ids.contains(&id) {
                plan.ignored_ids.push(id);
            }
        }
        if ids.is_empty() {
            continue;
        }
        any_linked = true;
        let names = competitor_names(trackers, &rule.tracker);
        if names.is_empty() {
            continue;
        }
        for id in ids {
            let field = FieldPlan {
                field: rule.field.clone(),
                tracker: rule.tracker.clone(),
                names: names.clone(),
                separator: rule.separator.clone(),
                mode: rule.mode,
            };
            match plan
                .records
                .iter_mut()
                .find(|r| r.record_id == id && r.object.eq_ignore_ascii_case(&rule.object))
            {
                Some(record) => record.fields.push(field),
                None => plan.records.push(RecordPlan {
                    object: rule.object.clone(),
                    record_id: id,
                    fields: vec![field],
                }),
            }
        }
    }
    if plan.records.is_empty() {
        return Err(if any_linked {
            SkipReason::NoPhrases {
                trackers: unique(rules.iter().map(|r| r.tracker.as_str())),
            }
        } else {
            no_linked_records(rules)
        });
    }
    Ok(plan)
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(item)) {
            out.push(item.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::sync::{Call, CrmObject};

    /// The call in a fixture (a webhook or a `/v2/calls/extensive` answer), read by hand:
    /// the domain does not know Gong's wire format.
    fn fixture_call(name: &str) -> Call {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture present");
        let value: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let call = value
            .get("callData")
            .or_else(|| value.pointer("/calls/0"))
            .expect("fixture holds a call");
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
        Call {
            id: text(&call["metaData"]["id"]),
            scope: None,
            duration: None,
            context: list(call.get("context"))
                .iter()
                .map(|system| CrmContext {
                    system: text(&system["system"]),
                    objects: list(system.get("objects"))
                        .iter()
                        .map(|object| CrmObject {
                            object_type: text(&object["objectType"]),
                            object_id: text(&object["objectId"]),
                        })
                        .collect(),
                })
                .collect(),
            trackers: list(call.pointer("/content/trackers"))
                .iter()
                .map(|tracker| Tracker {
                    name: text(&tracker["name"]),
                    phrases: list(tracker.get("phrases"))
                        .iter()
                        .map(|phrase| text(&phrase["phrase"]))
                        .collect(),
                })
                .collect(),
        }
    }

    fn rule(tracker: &str, field: &str, mode: WriteMode) -> Rule {
        Rule {
            tracker: tracker.into(),
            field: field.into(),
            mode,
            ..Rule::default()
        }
    }

    #[test]
    fn default_rule_over_the_webhook_fixture() {
        let call = fixture_call("gong_webhook.json");
        let rules = [Rule::default()];
        assert_eq!(check_links(&call.context, &rules), Ok(()));
        let plan = plan(&call.context, &call.trackers, &rules).expect("a plan");
        assert_eq!(plan.records.len(), 1);
        let record = &plan.records[0];
        assert_eq!(record.object, "Opportunity");
        assert_eq!(record.record_id, "0063t000012AbCdAAK");
        assert_eq!(record.fields[0].field, "Main_Competitors__c");
        assert_eq!(record.fields[0].names, ["Clari", "Chorus", "Outreach"]);
        assert!(record.merge_fields().is_empty());
    }

    #[test]
    fn the_extensive_fixture_gives_the_same_plan_as_the_webhook() {
        let webhook = fixture_call("gong_webhook.json");
        let api = fixture_call("gong_calls_extensive_one.json");
        let rules = [Rule::default()];
        assert_eq!(
            plan(&webhook.context, &webhook.trackers, &rules),
            plan(&api.context, &api.trackers, &rules)
        );
    }

    #[test]
    fn several_rules_on_one_record_are_grouped() {
        let call = fixture_call("gong_webhook.json");
        let rules = [
            rule("Competitors", "Main_Competitors__c", WriteMode::Merge),
            rule("pricing", "Pricing_Topics__c", WriteMode::Overwrite),
            rule("Next steps", "Next_Steps__c", WriteMode::Overwrite),
        ];
        let plan = plan(&call.context, &call.trackers, &rules).expect("a plan");
        assert_eq!(plan.records.len(), 1);
        let fields: Vec<_> = plan.records[0]
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["Main_Competitors__c", "Pricing_Topics__c"]);
        assert_eq!(plan.records[0].merge_fields(), ["Main_Competitors__c"]);
    }

    #[test]
    fn account_only_context_is_skipped_with_the_reason() {
        let mut call = fixture_call("gong_webhook.json");
        call.context[0]
            .objects
            .retain(|o| o.object_type == "Account");
        let rules = [Rule::default()];
        let reason = plan(&call.context, &call.trackers, &rules).unwrap_err();
        assert_eq!(check_links(&call.context, &rules), Err(reason.clone()));
        assert_eq!(
            reason,
            SkipReason::NoLinkedRecords {
                objects: vec!["Opportunity".into()]
            }
        );
        assert!(reason.to_string().contains("Opportunity"));
    }

    #[test]
    fn a_call_without_the_tracker_is_skipped_with_the_reason() {
        let call = fixture_call("gong_webhook.json");
        let rules = [rule(
            "Objections",
            "Main_Competitors__c",
            WriteMode::Overwrite,
        )];
        let reason = plan(&call.context, &call.trackers, &rules).unwrap_err();
        assert_eq!(
            reason.to_string(),
            "no phrases from tracker \"Objections\" on this call"
        );
    }

    #[test]
    fn malformed_ids_are_ignored_not_written() {
        let mut call = fixture_call("gong_webhook.json");
        call.context[0].objects[1].object_id = "006/../../limits".into();
        let rules = [Rule::default()];
        let reason = plan(&call.context, &call.trackers, &rules).unwrap_err();
        assert!(matches!(reason, SkipReason::NoLinkedRecords { .. }));
        assert!(check_links(&call.context, &rules).is_err());
    }
}
