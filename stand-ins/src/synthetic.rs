//! Synthetic calls: one for every number, each linked to an Opportunity of its own, in the
//! shape of `/v2/calls/extensive` with Extended context and trackers. The benchmark fires
//! thousands of them; the tests as many as a case needs.

use serde_json::{json, Value};

/// Gong's id of synthetic call `n`.
pub fn call_id(n: u64) -> String {
    (9_000_000_000_000 + n).to_string()
}

/// The Opportunity synthetic call `n` links to when it has one of its own: 18 characters, so
/// it reads as a Salesforce id (its last three are not a real checksum).
pub fn opportunity_id(n: u64) -> String {
    format!("0063t{n:013}")
}

/// Synthetic call `n`, linked to the Opportunity `opportunity`, its Competitors tracker
/// having heard each of `competitors` once.
pub fn call(n: u64, opportunity: &str, competitors: &[&str]) -> Value {
    let id = call_id(n);
    let phrases: Vec<Value> = competitors
        .iter()
        .map(|phrase| json!({"phrase": phrase, "count": 1, "occurrences": []}))
        .collect();
    json!({
        "metaData": {
            "id": id,
            "url": format!("https://app.gong.io/call?id={id}"),
            "title": format!("Synthetic call {n}"),
            "started": "2026-11-20T10:00:00Z",
            "duration": 1800,
            "direction": "Conference",
            "system": "Zoom",
            "scope": "External",
            "media": "Video",
            "language": "eng"
        },
        "context": [{"system": "Salesforce", "objects": [
            {"objectType": "Opportunity", "objectId": opportunity, "timing": "Now", "fields": []}
        ]}],
        "content": {"trackers": [{
            "id": "56067", "name": "Competitors", "type": "KEYWORD",
            "count": competitors.len(), "phrases": phrases
        }]}
    })
}

/// The webhook Gong sends once it has processed `call` (not a "Test now" one).
pub fn webhook(call: &Value) -> Value {
    json!({"isTest": false, "callData": call})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::is_id;

    #[test]
    fn every_call_has_its_own_id_and_opportunity() {
        assert_ne!(call_id(1), call_id(2));
        assert_ne!(opportunity_id(1), opportunity_id(2));
        assert!(is_id(&opportunity_id(0)) && is_id(&opportunity_id(9_999_999)));
        assert!(call_id(42).bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn a_call_links_its_opportunity_and_hears_its_competitors() {
        let call = call(7, &opportunity_id(7), &["Clari", "Chorus"]);
        assert_eq!(call["metaData"]["id"], call_id(7));
        let linked = &call["context"][0]["objects"][0];
        assert_eq!(
            (linked["objectType"].as_str(), linked["objectId"].as_str()),
            (Some("Opportunity"), Some(opportunity_id(7).as_str()))
        );
        let tracker = &call["content"]["trackers"][0];
        assert_eq!(tracker["name"], "Competitors");
        assert_eq!(tracker["count"], 2);
        assert_eq!(tracker["phrases"][1]["phrase"], "Chorus");
        assert_eq!(webhook(&call)["callData"], call);
    }
}
