//! Which listed calls the catch-up sweep queues: what Gong's automation rule would have sent
//! by webhook, and only when the call leads to a write. A call left out is not marked in any
//! way, so the next sweep looks at it again (until it leaves the sweep's window): a call
//! listed before Gong has processed it (no trackers yet) is queued once it has.

use std::time::Duration;

use super::{check_links, plan, Call, CompetitorList, Rule, SkipReason};

/// The part of Gong's automation rule the sweep can apply to a listed call (the workspace is
/// part of the listing request itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// Only calls of this scope (`External`, `Internal`, `Unknown`), compared
    /// case-insensitively.
    pub scope: Option<String>,
    /// Only calls at least this long.
    pub min_duration: Option<Duration>,
}

/// What the sweep does with a listed call that has no job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepVerdict {
    /// Queue a job: the webhook would have come, and there is something to write.
    Queue,
    /// The rule's filter leaves it out: no webhook was expected.
    OutsideFilter,
    /// Nothing to write, at least not yet: no linked record, or no competitor phrases (Gong
    /// may not have processed the call yet).
    NothingToWrite(SkipReason),
}

/// The verdict for one listed call. A call whose listing lacks the scope or the duration is
/// not left out for it: a call the rule may have sent is better synced than lost.
pub fn sweep_verdict(
    call: &Call,
    filter: &CallFilter,
    rules: &[Rule],
    competitors: &CompetitorList,
) -> SweepVerdict {
    let outside_scope = match (&filter.scope, &call.scope) {
        (Some(wanted), Some(scope)) => !wanted.eq_ignore_ascii_case(scope),
        _ => false,
    };
    let too_short = match (filter.min_duration, call.duration) {
        (Some(min), Some(duration)) => duration < min,
        _ => false,
    };
    if outside_scope || too_short {
        return SweepVerdict::OutsideFilter;
    }
    match plan(call, rules, competitors) {
        Ok(_) => SweepVerdict::Queue,
        // The listing carries no transcript: a linked call is queued for a transcript rule
        // to read it.
        Err(_)
            if rules.iter().any(Rule::reads_transcript)
                && check_links(&call.context, rules).is_ok() =>
        {
            SweepVerdict::Queue
        }
        Err(reason) => SweepVerdict::NothingToWrite(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{CrmContext, CrmObject, Phrase, Tracker, WriteMode};

    fn rules() -> Vec<Rule> {
        vec![Rule {
            object: "Opportunity".into(),
            field: Some("Main_Competitors__c".into()),
            tracker: "Competitors".into(),
            separator: ", ".into(),
            mode: WriteMode::Overwrite,
            ..Rule::default()
        }]
    }

    fn call(phrases: &[&str]) -> Call {
        Call {
            id: "1".into(),
            scope: Some("External".into()),
            duration: Some(Duration::from_secs(1800)),
            context: vec![CrmContext {
                system: "Salesforce".into(),
                objects: vec![CrmObject {
                    object_type: "Opportunity".into(),
                    object_id: "0063t000012AbCdAAK".into(),
                }],
            }],
            parties: Vec::new(),
            transcript: None,
            trackers: if phrases.is_empty() {
                Vec::new()
            } else {
                vec![Tracker {
                    name: "Competitors".into(),
                    phrases: phrases.iter().map(|p| Phrase::heard(p)).collect(),
                }]
            },
        }
    }

    #[test]
    fn a_linked_call_with_competitors_is_queued() {
        let verdict = sweep_verdict(
            &call(&["Clari"]),
            &CallFilter::default(),
            &rules(),
            &CompetitorList::default(),
        );
        assert_eq!(verdict, SweepVerdict::Queue);
    }

    #[test]
    fn a_call_without_trackers_yet_is_left_for_a_later_sweep() {
        let verdict = sweep_verdict(
            &call(&[]),
            &CallFilter::default(),
            &rules(),
            &CompetitorList::default(),
        );
        assert!(
            matches!(
                verdict,
                SweepVerdict::NothingToWrite(SkipReason::NoPhrases { .. })
            ),
            "{verdict:?}"
        );
    }

    #[test]
    fn the_rules_filter_leaves_out_what_no_webhook_would_have_sent() {
        let internal = CallFilter {
            scope: Some("internal".into()),
            min_duration: None,
        };
        assert_eq!(
            sweep_verdict(
                &call(&["Clari"]),
                &internal,
                &rules(),
                &CompetitorList::default()
            ),
            SweepVerdict::OutsideFilter
        );
        let long = CallFilter {
            scope: Some("EXTERNAL".into()),
            min_duration: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            sweep_verdict(
                &call(&["Clari"]),
                &long,
                &rules(),
                &CompetitorList::default()
            ),
            SweepVerdict::OutsideFilter
        );
        let mut unknown = call(&["Clari"]);
        unknown.scope = None;
        unknown.duration = None;
        assert_eq!(
            sweep_verdict(&unknown, &long, &rules(), &CompetitorList::default()),
            SweepVerdict::Queue,
            "a listing without the fields is not filtered out by them"
        );
    }
}
