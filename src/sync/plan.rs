//! From a call's CRM context and trackers, through the rules, to what each record needs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::call::{Call, CrmContext};
use super::evidence::{rule_names, DroppedName, NameEvidence};
use super::names::{name_key, CompetitorList};
use super::rules::{NameSource, Rule, WriteMode, COMPETITOR_ROWS};
use super::shape::FitNote;
use super::values::{is_salesforce_id, linked_record_ids};

/// The writes one call calls for, grouped by record so each record is written once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub records: Vec<RecordPlan>,
    /// Linked ids that are not Salesforce ids and were left alone.
    pub ignored_ids: Vec<String>,
}

impl Plan {
    /// Each field once (the first record's, when several records share a rule), as the
    /// names of a field are the same for every record it is planned for.
    pub fn fields_once(&self) -> Vec<&FieldPlan> {
        let mut fields: Vec<&FieldPlan> = Vec::new();
        for field in self.records.iter().flat_map(|record| &record.fields) {
            if !fields.iter().any(|f| f.field == field.field) {
                fields.push(field);
            }
        }
        fields
    }

    /// Adds `field` to the plan of `object` `record_id`, which it starts if there is none.
    fn add_field(&mut self, object: &str, record_id: String, field: FieldPlan) {
        match self.records.iter_mut().find(|r| r.is(object, &record_id)) {
            Some(record) => record.add_field(field),
            None => self.records.push(RecordPlan {
                object: object.to_owned(),
                record_id,
                fields: vec![field],
            }),
        }
    }

    /// Keeps what fitting the names to `object` `record_id`'s targets showed (values a
    /// picklist lacks, names shortened), for people to see in the job's plan. Replaces what
    /// an earlier attempt noted: the describe may have changed since.
    pub fn note_fit(&mut self, object: &str, record_id: &str, notes: &[FitNote]) {
        let record = self.records.iter_mut().find(|r| r.is(object, record_id));
        for field in record.into_iter().flat_map(|r| r.fields.iter_mut()) {
            field.fitted = notes
                .iter()
                .filter(|n| n.field.eq_ignore_ascii_case(&field.field))
                .cloned()
                .collect();
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordPlan {
    pub object: String,
    pub record_id: String,
    pub fields: Vec<FieldPlan>,
}

impl RecordPlan {
    /// Whether this is the plan of `object` (in any case) `record_id`.
    pub fn is(&self, object: &str, record_id: &str) -> bool {
        self.record_id == record_id && self.object.eq_ignore_ascii_case(object)
    }

    /// Adds a rule's field. A tracker rule and a transcript rule may share a field (the
    /// configuration makes sure they agree on mode and separator): the transcript's names
    /// join the tracker's, each name once.
    fn add_field(&mut self, field: FieldPlan) {
        let Some(shared) = self
            .fields
            .iter_mut()
            .find(|f| f.field.eq_ignore_ascii_case(&field.field))
        else {
            self.fields.push(field);
            return;
        };
        shared.tracker = format!("{} + {}", shared.tracker, field.tracker);
        for (name, evidence) in field.names.into_iter().zip(field.evidence) {
            if !shared.names.iter().any(|n| name_key(n) == name_key(&name)) {
                shared.names.push(name);
                shared.evidence.push(evidence);
            }
        }
        shared.dropped.extend(field.dropped);
        shared.speaker_note = match (shared.speaker_note.take(), field.speaker_note) {
            (Some(first), Some(second)) => Some(format!("{first}; {second}")),
            (first, second) => first.or(second),
        };
    }

    /// Whether the record stands for an Opportunity's Competitors related list: its names
    /// become rows, added to those it has.
    pub fn adds_rows(&self) -> bool {
        self.object.eq_ignore_ascii_case(COMPETITOR_ROWS)
    }

    /// Fields whose current value must be read before writing (none for related-list rows,
    /// which are read as rows).
    pub fn merge_fields(&self) -> Vec<&str> {
        if self.adds_rows() {
            return Vec::new();
        }
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
    /// The rule's tracker, or `transcript` for a rule that reads the transcript.
    pub tracker: String,
    pub names: Vec<String>,
    pub separator: String,
    pub mode: WriteMode,
    /// Why each name is written: where it came from, how often, who said it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<NameEvidence>,
    /// Phrases left out, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedName>,
    /// Set when the rule wanted one side's mentions but the speakers could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_note: Option<String>,
    /// Names the target could not take as they were (learnt from its describe when writing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fitted: Vec<FitNote>,
}

/// Why a call leads to no write at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Gong's "Test now" sends a real call flagged `isTest`: recorded, never written.
    TestWebhook,
    NoLinkedRecords {
        objects: Vec<String>,
    },
    /// No rule found a name: its trackers heard no phrase, the transcript named no listed
    /// competitor.
    NoPhrases {
        trackers: Vec<String>,
        transcript: bool,
    },
    /// Names were heard, but every one was left out (by speaker, or not in the list).
    NamesLeftOut {
        dropped: Vec<DroppedName>,
    },
    /// Every name was left out by its target: no picklist value matched any.
    NoValueFits {
        notes: Vec<FitNote>,
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
            Self::NoPhrases {
                trackers,
                transcript,
            } => {
                let trackers = trackers
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" or ");
                match (trackers.is_empty(), transcript) {
                    (false, false) => write!(f, "no phrases from tracker {trackers} on this call"),
                    (true, _) => write!(
                        f,
                        "the transcript names no competitor of sync.competitors"
                    ),
                    (false, true) => write!(
                        f,
                        "no phrases from tracker {trackers}, and the transcript names no competitor of sync.competitors"
                    ),
                }
            }
            Self::NamesLeftOut { dropped } => write!(
                f,
                "every name heard was left out: {}",
                dropped
                    .iter()
                    .map(DroppedName::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Self::NoValueFits { notes } => write!(
                f,
                "no name heard is a value of its picklist: {}",
                notes
                    .iter()
                    .map(FitNote::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Self::Unchanged => write!(f, "every field already holds these names: nothing to write"),
        }
    }
}

/// Fails when the context links the call to no record any rule writes to. Checked on the
/// webhook's context before fetching the call from Gong, so an unlinked call costs no request.
pub fn check_links(context: &[CrmContext], rules: &[Rule]) -> Result<(), SkipReason> {
    let linked = rules.iter().any(|rule| {
        linked_record_ids(context, rule.linked_object())
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
        objects: unique(rules.iter().map(Rule::linked_object)),
    }
}

/// The plan for one call, or why nothing is to be written. `competitors` gives the names
/// their canonical spelling (empty: Gong's phrases as they are).
pub fn plan(call: &Call, rules: &[Rule], competitors: &CompetitorList) -> Result<Plan, SkipReason> {
    let context = &call.context;
    let mut plan = Plan {
        records: Vec::new(),
        ignored_ids: Vec::new(),
    };
    let mut any_linked = false;
    let mut left_out: Vec<DroppedName> = Vec::new();
    for rule in rules {
        let (ids, ignored): (Vec<String>, Vec<String>) =
            linked_record_ids(context, rule.linked_object())
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
        let found = rule_names(call, rule, competitors);
        let names = found.names();
        if names.is_empty() {
            left_out.extend(found.dropped);
            continue;
        }
        for id in ids {
            let field = FieldPlan {
                field: rule.written_field().to_owned(),
                tracker: match rule.source {
                    NameSource::Tracker => rule.tracker.clone(),
                    NameSource::Transcript => "transcript".into(),
                },
                names: names.clone(),
                separator: rule.separator.clone(),
                mode: rule.mode,
                evidence: found.evidence.clone(),
                dropped: found.dropped.clone(),
                speaker_note: found.speaker_note.clone(),
                fitted: Vec::new(),
            };
            plan.add_field(planned_object(rule), id, field);
        }
    }
    if plan.records.is_empty() {
        return Err(nothing_to_write(rules, any_linked, left_out));
    }
    Ok(plan)
}

/// The object a rule's writes go to: the related list's, in its one spelling, or the
/// linked record's.
fn planned_object(rule: &Rule) -> &str {
    if rule.writes_rows() {
        COMPETITOR_ROWS
    } else {
        rule.object.as_str()
    }
}

/// Why a plan with no record came out: names that were all left out, no names heard, or no
/// linked record at all.
fn nothing_to_write(rules: &[Rule], any_linked: bool, left_out: Vec<DroppedName>) -> SkipReason {
    if !any_linked {
        return no_linked_records(rules);
    }
    if !left_out.is_empty() {
        return SkipReason::NamesLeftOut { dropped: left_out };
    }
    SkipReason::NoPhrases {
        trackers: unique(
            rules
                .iter()
                .filter(|r| r.source == NameSource::Tracker)
                .map(|r| r.tracker.as_str()),
        ),
        transcript: rules.iter().any(|r| r.source == NameSource::Transcript),
    }
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
    use crate::sync::{Call, CrmObject, Phrase, Tracker};

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
                        .map(|phrase| Phrase::heard(&text(&phrase["phrase"])))
                        .collect(),
                })
                .collect(),
            ..Call::default()
        }
    }

    fn rule(tracker: &str, field: &str, mode: WriteMode) -> Rule {
        Rule {
            tracker: tracker.into(),
            field: Some(field.into()),
            mode,
            ..Rule::default()
        }
    }

    #[test]
    fn default_rule_over_the_webhook_fixture() {
        let call = fixture_call("gong_webhook.json");
        let rules = [Rule::default()];
        assert_eq!(check_links(&call.context, &rules), Ok(()));
        let plan = plan(&call, &rules, &CompetitorList::default()).expect("a plan");
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
            plan(&webhook, &rules, &CompetitorList::default()),
            plan(&api, &rules, &CompetitorList::default())
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
        let plan = plan(&call, &rules, &CompetitorList::default()).expect("a plan");
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
        let reason = plan(&call, &rules, &CompetitorList::default()).unwrap_err();
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
        let reason = plan(&call, &rules, &CompetitorList::default()).unwrap_err();
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
        let reason = plan(&call, &rules, &CompetitorList::default()).unwrap_err();
        assert!(matches!(reason, SkipReason::NoLinkedRecords { .. }));
        assert!(check_links(&call.context, &rules).is_err());
    }
}
