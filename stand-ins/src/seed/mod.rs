//! The seeded world: sales calls as Gong's `/v2/calls/extensive` returns them with Extended
//! context, parties and trackers, and the Salesforce Opportunities they link to.
//!
//! The mix covers what the service has to tell apart: a call linked to one Opportunity, one
//! linked to two, one whose Competitors tracker heard nothing, an internal call with no CRM
//! context, a call linked to an Account only, an Opportunity no call mentions, and a recent
//! call whose webhook `fire` never sends (the service's catch-up sweep finds it). For the
//! competitor list and its rules: an alias pair (`Chorus`, `chorus.ai`), a competitor only
//! the rep names (`Gong`), and a call whose tracker lists no phrases but whose transcript
//! names competitors (the sweep's call, so the sweep reads a transcript too). Each
//! Opportunity is linked from at most one call that heard competitors, so the values after a
//! demo run do not depend on the order the service processes the calls in.
//!
//! The org's Opportunities also have the restricted multi-select picklist
//! [`COMPETITORS_PICKLIST`] ([`COMPETITORS_PICKLIST_VALUES`], plus the inactive `XANT`) and
//! the Competitors related list (OpportunityCompetitor rows). Only Globex - New Business
//! starts with either: `Outreach` selected in the picklist, and a row a person added
//! (CompetitorName `Outreach`, Strengths `Sequencing; large install base`), which the
//! service must leave as it is. Wingman, heard on the Hooli call, is deliberately not a
//! picklist value: the demo shows the service leaving it out.

mod world;

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub(crate) use world::OPPORTUNITIES;
use world::{SeedCall, Speaker, Started, CALLS};
use world::{SeedCompetitorRow, SeedOpportunity};

/// The Salesforce field the service's default rule writes.
pub const MAIN_COMPETITORS: &str = "Main_Competitors__c";
/// The Opportunity's restricted multi-select picklist of competitors.
pub const COMPETITORS_PICKLIST: &str = "Competitors__c";
/// [`COMPETITORS_PICKLIST`]'s active values, in the picklist's order (labels equal values).
pub const COMPETITORS_PICKLIST_VALUES: &[&str] = &[
    "Chorus",
    "Clari",
    "Outreach",
    "Salesloft",
    "People.ai",
    "Avoma",
    "Gong",
    "HubSpot",
    "ZoomInfo",
    "Apollo.io",
    "Seismic",
    "Highspot",
    "Mindtickle",
    "Allego",
];
/// [`COMPETITORS_PICKLIST`]'s inactive values: still listed, no longer writable.
pub const COMPETITORS_PICKLIST_INACTIVE: &[&str] = &["XANT"];
const WORKSPACE_ID: &str = "623457276584334";
const REP_USER_ID: &str = "234599484848423";

/// The seeded calls in Gong's full shape (Extended context, parties, trackers), oldest first.
/// Dates count back from midnight UTC of `now`'s date, so the sandbox and the `fire`
/// command, started the same day, describe the same calls; the one recent call counts back
/// from `now` itself.
pub fn calls(now: OffsetDateTime) -> Vec<Value> {
    CALLS.iter().map(|call| call_json(call, now)).collect()
}

/// A call's id, as [`calls`] gives it.
pub fn call_id(call: &Value) -> &str {
    call["metaData"]["id"].as_str().unwrap_or_default()
}

/// A call's title, as [`calls`] gives it.
pub fn call_title(call: &Value) -> &str {
    call["metaData"]["title"].as_str().unwrap_or_default()
}

/// Whether `competitor-sync-sandbox fire` sends the webhook of call `call_id`: one seeded
/// call's delivery is lost, as Gong's are on a bad day, for the catch-up sweep to recover.
pub fn webhook_sent(call_id: &str) -> bool {
    CALLS
        .iter()
        .find(|call| call.id == call_id)
        .is_none_or(|call| call.webhook_sent)
}

/// A call as a Gong webhook carries it in `callData`: Gong's documented sample shows trackers
/// with only their name, count and phrases (the service re-fetches the call for the rest).
pub fn webhook_call_data(call: &Value) -> Value {
    let mut data = call.clone();
    if let Some(fields) = data.as_object_mut() {
        fields.remove("transcript");
    }
    if let Some(trackers) = data
        .pointer_mut("/content/trackers")
        .and_then(Value::as_array_mut)
    {
        for tracker in trackers {
            if let Some(fields) = tracker.as_object_mut() {
                fields.retain(|key, _| matches!(key.as_str(), "name" | "count" | "phrases"));
            }
        }
    }
    data
}

/// The seeded Opportunities as Salesforce records (field name to value), in seed order.
pub(crate) fn opportunity_records(today: OffsetDateTime) -> Vec<Map<String, Value>> {
    OPPORTUNITIES
        .iter()
        .map(|opportunity| {
            let close_date = (today + Duration::days(opportunity.closes_in_days)).date();
            let mut record = Map::new();
            record.insert("Id".into(), json!(opportunity.id));
            record.insert("Name".into(), json!(opportunity.name));
            record.insert("StageName".into(), json!(opportunity.stage));
            record.insert("Amount".into(), json!(opportunity.amount));
            record.insert("CloseDate".into(), json!(close_date.to_string()));
            record.insert(MAIN_COMPETITORS.into(), json!(opportunity.main_competitors));
            record.insert(
                COMPETITORS_PICKLIST.into(),
                json!(opportunity.competitors_picklist),
            );
            record
        })
        .collect()
}

/// The rows people added to the seeded Opportunities' Competitors related lists, with the
/// Opportunity's id, in seed order.
pub(crate) fn competitor_rows() -> impl Iterator<Item = (&'static str, &'static SeedCompetitorRow)>
{
    OPPORTUNITIES.iter().flat_map(|opportunity| {
        opportunity
            .competitor_rows
            .iter()
            .map(move |row| (opportunity.id, row))
    })
}

fn opportunity(id: &str) -> Option<&'static SeedOpportunity> {
    OPPORTUNITIES.iter().find(|o| o.id == id)
}

fn call_json(call: &SeedCall, now: OffsetDateTime) -> Value {
    let started = match call.started {
        Started::DaysAgo { days, at_minute } => {
            now.replace_time(time::Time::MIDNIGHT) - Duration::days(days)
                + Duration::minutes(at_minute)
        }
        Started::HoursAgo(hours) => now - Duration::hours(hours),
    };
    let scheduled = started - Duration::minutes(1);
    let timestamp = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    let rep_speaker = format!("6432{}", &call.id[4..]);
    let buyer_speaker = format!("8432{}", &call.id[4..]);
    let mut parties = vec![json!({
        "id": format!("5650{}", &call.id[4..]),
        "emailAddress": call.rep.email,
        "name": call.rep.name,
        "title": call.rep.title,
        "userId": REP_USER_ID,
        "speakerId": rep_speaker,
        "affiliation": "Internal",
        "methods": ["Invitee"]
    })];
    if let Some(buyer) = &call.buyer {
        parties.push(json!({
            "id": format!("1133{}", &call.id[4..]),
            "emailAddress": buyer.email,
            "name": buyer.name,
            "title": buyer.title,
            "speakerId": buyer_speaker,
            "affiliation": "External",
            "methods": ["Invitee"]
        }));
    }
    json!({
        "metaData": {
            "id": call.id,
            "url": format!("https://app.gong.io/call?id={}", call.id),
            "title": call.title,
            "scheduled": timestamp(scheduled),
            "started": timestamp(started),
            "duration": call.duration_secs,
            "primaryUserId": REP_USER_ID,
            "direction": "Conference",
            "system": "Zoom",
            "scope": if call.external { "External" } else { "Internal" },
            "media": "Video",
            "language": "eng",
            "workspaceId": WORKSPACE_ID,
            "purpose": null,
            "meetingUrl": format!("https://zoom.us/j/{}", &call.id[8..]),
            "isPrivate": false,
            "calendarEventId": format!("{}@calendar.example", call.id)
        },
        "context": context(call),
        "parties": parties,
        "content": {
            "trackers": [
                competitors_tracker(&[
                    (call.competitors, buyer_speaker.as_str()),
                    (call.rep_mentions, rep_speaker.as_str()),
                ]),
                {
                    "id": "56070", "name": "Pricing", "count": 1, "type": "KEYWORD",
                    "occurrences": [{"startTime": 905.4, "speakerId": buyer_speaker}],
                    "phrases": [{"count": 1, "phrase": "discount",
                                 "occurrences": [{"startTime": 905.4, "speakerId": buyer_speaker}]}]
                },
                {
                    "id": "56099", "name": "Next steps", "count": 1, "type": "SMART",
                    "occurrences": [{"startTime": f64::from(call.duration_secs) - 120.0,
                                     "speakerId": rep_speaker}]
                }
            ]
        },
        // The stand-in's own key: what its `/v2/calls/transcript` answers for the call.
        "transcript": transcript(call.transcript, &rep_speaker, &buyer_speaker)
    })
}

/// Monologues as `/v2/calls/transcript` has them, a sentence each, a minute apart.
fn transcript(sentences: &[(Speaker, &str)], rep: &str, buyer: &str) -> Value {
    let monologues: Vec<Value> = sentences
        .iter()
        .zip(0u32..)
        .map(|((speaker, text), minute)| {
            let speaker_id = match speaker {
                Speaker::Rep => rep,
                Speaker::Buyer => buyer,
            };
            let start = 60_000 * minute;
            json!({"speakerId": speaker_id, "topic": null,
                   "sentences": [{"start": start, "end": start + 4_000, "text": text}]})
        })
        .collect();
    json!(monologues)
}

/// Extended CRM context: the linked Salesforce objects with some of their fields. A call
/// linked to nothing has an empty context, as in Gong.
fn context(call: &SeedCall) -> Value {
    let mut objects = Vec::new();
    if let Some((id, name)) = call.account {
        objects.push(json!({
            "objectType": "Account", "objectId": id, "timing": "Now",
            "fields": [{"name": "Name", "value": name}]
        }));
    }
    for id in call.opportunities {
        let fields = opportunity(id).map_or_else(Vec::new, |o| {
            vec![
                json!({"name": "Name", "value": o.name}),
                json!({"name": "StageName", "value": o.stage}),
                // Gong mixes strings and numbers in field values.
                json!({"name": "Amount", "value": o.amount}),
            ]
        });
        objects.push(json!({
            "objectType": "Opportunity", "objectId": id, "timing": "Now", "fields": fields
        }));
    }
    if objects.is_empty() {
        json!([])
    } else {
        json!([{"system": "Salesforce", "objects": objects}])
    }
}

/// The Competitors tracker: each group's phrases, said by its speaker.
fn competitors_tracker(groups: &[(&[(&str, u32)], &str)]) -> Value {
    let mut moment = 30.0;
    let phrases: Vec<Value> = groups
        .iter()
        .flat_map(|(phrases, speaker)| phrases.iter().map(move |phrase| (phrase, *speaker)))
        .map(|((phrase, count), speaker)| {
            let occurrences: Vec<Value> = (0..*count)
                .map(|_| {
                    moment += 173.5;
                    json!({"startTime": moment, "speakerId": speaker})
                })
                .collect();
            json!({"count": count, "occurrences": occurrences, "phrase": phrase})
        })
        .collect();
    let count: u32 = phrases
        .iter()
        .filter_map(|p| p["count"].as_u64())
        .map(|c| u32::try_from(c).unwrap_or_default())
        .sum();
    let occurrences: Vec<Value> = phrases
        .iter()
        .flat_map(|p| p["occurrences"].as_array().cloned().unwrap_or_default())
        .collect();
    json!({
        "id": "56067", "name": "Competitors", "count": count, "type": "KEYWORD",
        "occurrences": occurrences, "phrases": phrases
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::is_id;

    fn today() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    #[test]
    fn every_linked_opportunity_is_seeded_and_ids_look_like_salesforce_ids() {
        for call in calls(today()) {
            let objects = call["context"][0]["objects"].as_array().cloned();
            for object in objects.into_iter().flatten() {
                let id = object["objectId"].as_str().expect("id");
                assert!(is_id(id), "{id}");
                if object["objectType"] == "Opportunity" {
                    assert!(opportunity(id).is_some(), "{id} is not seeded");
                }
            }
        }
        for seeded in OPPORTUNITIES {
            assert!(is_id(seeded.id));
            // Records are found by their 15-character prefix: no two may share one.
            let prefix = &seeded.id[..15];
            assert_eq!(
                OPPORTUNITIES
                    .iter()
                    .filter(|o| o.id.starts_with(prefix))
                    .count(),
                1
            );
        }
    }

    #[test]
    fn calls_spread_over_recent_weeks_oldest_first() {
        let calls = calls(today());
        let started: Vec<&str> = calls
            .iter()
            .map(|c| c["metaData"]["started"].as_str().expect("started"))
            .collect();
        let mut sorted = started.clone();
        sorted.sort_unstable();
        assert_eq!(started, sorted);
        let days: Vec<i64> = CALLS
            .iter()
            .filter_map(|c| match c.started {
                Started::DaysAgo { days, .. } => Some(days),
                Started::HoursAgo(_) => None,
            })
            .collect();
        assert!(days.iter().any(|d| *d <= 7) && days.iter().any(|d| *d >= 21));
        assert_eq!(
            CALLS.iter().filter(|c| !c.webhook_sent).count(),
            1,
            "one lost webhook, for the sweep"
        );
    }

    #[test]
    fn the_rules_demo_has_an_alias_pair_a_reps_own_mention_and_a_transcript_only_call() {
        let calls = calls(today());
        let phrases = |call: &Value| -> Vec<(String, String)> {
            call["content"]["trackers"][0]["phrases"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let speaker = p["occurrences"][0]["speakerId"].as_str().unwrap_or("");
                    (
                        p["phrase"].as_str().unwrap_or("").to_owned(),
                        speaker.to_owned(),
                    )
                })
                .collect()
        };
        let by_id = |id: &str| calls.iter().find(|c| call_id(c) == id).expect(id);
        let hooli = phrases(by_id("7782342274025937952"));
        assert!(
            hooli.iter().any(|(p, _)| p == "chorus.ai") && hooli.iter().any(|(p, _)| p == "Chorus")
        );
        let globex = by_id("7782342274025937901");
        let rep = globex["parties"][0]["speakerId"].as_str().expect("rep");
        assert_eq!(
            phrases(globex).last(),
            Some(&("Gong".to_owned(), rep.to_owned()))
        );
        let wayne = by_id("7782342274025937990");
        assert!(phrases(wayne).is_empty());
        assert!(wayne["transcript"][1]["sentences"][0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("Avoma")));
        assert!(webhook_call_data(wayne).get("transcript").is_none());
    }

    #[test]
    fn the_webhook_shape_keeps_only_what_gongs_sample_shows_of_trackers() {
        let call = &calls(today())[0];
        let data = webhook_call_data(call);
        let tracker = &data["content"]["trackers"][0];
        assert_eq!(tracker["name"], "Competitors");
        assert!(tracker.get("type").is_none() && tracker.get("id").is_none());
        assert_eq!(data["context"], call["context"]);
        // What the service reads of a webhook's call (the service's own tests run the sandbox
        // against it in tests/api/sandbox.rs).
        assert_eq!(data["metaData"]["id"], "7782342274025937969");
        let phrases = tracker["phrases"].as_array().expect("phrases");
        assert!(phrases
            .iter()
            .all(|p| p["phrase"].is_string() && p["count"].is_u64()));
        assert!(data["context"][0]["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .all(|o| o["objectType"].is_string() && o["objectId"].is_string()));
    }
}
