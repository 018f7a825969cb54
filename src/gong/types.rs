//! Gong wire types: the parts of a call this service reads, parsed leniently (Gong mixes
//! strings and numbers for ids and may send `null` where a list is expected).

use serde::{Deserialize, Deserializer, Serialize};

use crate::sync;

/// One call, as found in `callData` of a webhook and in `calls[]` of `/v2/calls/extensive`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub meta_data: CallMetaData,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub context: Vec<CrmContext>,
    #[serde(default)]
    pub content: Option<CallContent>,
    /// Asked for only when a rule filters by speaker (`exposedFields.parties`).
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub parties: Vec<Party>,
}

/// A party of the call: who a `speakerId` is, and on which side. `speakerId` is in Gong's
/// OpenAPI description of parties; no captured Gong answer with it is on record.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "optional_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub speaker_id: Option<String>,
    /// `Internal`, `External` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliation: Option<String>,
}

impl From<Call> for sync::Call {
    fn from(call: Call) -> Self {
        Self {
            parties: call
                .parties
                .into_iter()
                .filter_map(|party| {
                    Some(sync::Party {
                        speaker_id: party.speaker_id?,
                        affiliation: sync::Affiliation::parse(party.affiliation.as_deref()?),
                    })
                })
                .collect(),
            transcript: None,
            scope: call.meta_data.scope,
            duration: call
                .meta_data
                .duration
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .map(std::time::Duration::from_secs_f64),
            id: call.meta_data.id,
            context: call.context.into_iter().map(Into::into).collect(),
            trackers: call
                .content
                .map(|content| content.trackers.into_iter().map(Into::into).collect())
                .unwrap_or_default(),
        }
    }
}

impl From<CrmContext> for sync::CrmContext {
    fn from(context: CrmContext) -> Self {
        Self {
            system: context.system,
            objects: context
                .objects
                .into_iter()
                .map(|object| sync::CrmObject {
                    object_type: object.object_type,
                    object_id: object.object_id,
                })
                .collect(),
        }
    }
}

impl From<Tracker> for sync::Tracker {
    fn from(tracker: Tracker) -> Self {
        Self {
            name: tracker.name,
            phrases: tracker
                .phrases
                .into_iter()
                .map(|phrase| sync::Phrase {
                    count: phrase.count.unwrap_or(1),
                    speaker_ids: phrase
                        .occurrences
                        .into_iter()
                        .filter_map(|occurrence| occurrence.speaker_id)
                        .collect(),
                    text: phrase.phrase,
                })
                .collect(),
        }
    }
}

/// Reads a call stored as Gong sent it (a webhook's `callData`, a listing's call) into the
/// domain's call, as the webhook handler read it before storing it.
pub fn parse_call(json: &str) -> Result<sync::Call, serde_json::Error> {
    serde_json::from_str::<Call>(json).map(Into::into)
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallMetaData {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    /// `External`, `Internal` or `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Seconds. A number in Gong's documentation; a number written as a string is read too.
    #[serde(
        default,
        deserialize_with = "lenient_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<f64>,
}

/// CRM objects linked to the call in one external system.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrmContext {
    #[serde(default)]
    pub system: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub objects: Vec<CrmObject>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrmObject {
    #[serde(default)]
    pub object_type: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub object_id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallContent {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub trackers: Vec<Tracker>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Tracker {
    #[serde(default)]
    pub name: String,
    /// Keyword trackers list the phrases heard; smart (AI) trackers have none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub phrases: Vec<TrackerPhrase>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrackerPhrase {
    #[serde(default)]
    pub phrase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Each time it was heard, and by whom: only with `trackerOccurrences` (Gong's OpenAPI
    /// description; no captured body with occurrences is on record), and only for calls
    /// since 2023 and trackers that do not list each term separately.
    #[serde(
        default,
        deserialize_with = "null_as_empty",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub occurrences: Vec<Occurrence>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Occurrence {
    #[serde(
        default,
        deserialize_with = "optional_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub speaker_id: Option<String>,
}

/// Body of `POST /v2/calls/extensive`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallsPage {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub calls: Vec<Call>,
    #[serde(default)]
    pub records: Option<PageRecords>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRecords {
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub total_records: Option<u64>,
}

/// An answer that may continue on another page: `records.cursor`, when there is one.
pub(super) trait Paged {
    fn records(&self) -> Option<&PageRecords>;

    fn next_cursor(&self) -> Option<String> {
        self.records()
            .and_then(|r| r.cursor.clone())
            .filter(|c| !c.is_empty())
    }
}

impl Paged for CallsPage {
    fn records(&self) -> Option<&PageRecords> {
        self.records.as_ref()
    }
}

/// Gong's error body: `{"requestId": "...", "errors": ["..."]}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<String>,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Whether `id` can be a Gong call id: 1 to 20 digits.
pub fn is_call_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// A number of seconds, or a string holding one; anything else is taken as unknown rather
/// than failing the whole call.
fn lenient_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(
        match Option::<serde_json::Value>::deserialize(deserializer)? {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        },
    )
}

/// [`string_or_number`] for an id that may be absent or `null`.
fn optional_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "string_or_number")] String);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(id)| id))
}

/// Gong ids are up to 20 digits: kept as strings, accepted as JSON numbers too.
pub(super) fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(text) => text,
        Id::Unsigned(n) => n.to_string(),
        Id::Signed(n) => n.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gong's OpenAPI example of a call (not a captured body: no recorded Gong answer with
    /// parties and occurrences is on record), as the domain sees it.
    #[test]
    fn parties_and_occurrences_of_the_openapi_example_reach_the_domain() {
        let path = format!(
            "{}/tests/fixtures/gong_calls_extensive_openapi_example.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).expect("fixture present");
        let page: CallsPage = serde_json::from_str(&text).expect("the example parses");
        let call: sync::Call = page.calls.into_iter().next().expect("one call").into();
        assert_eq!(
            call.parties,
            [sync::Party {
                speaker_id: "6432345678555530067".into(),
                affiliation: sync::Affiliation::Internal,
            }]
        );
        let phrase = &call.trackers[0].phrases[0];
        assert_eq!(phrase.text, "Walmart");
        assert_eq!(phrase.count, 5);
        // The example's occurrence names a user id, not a party's speaker id: an unknown side.
        assert_eq!(phrase.speaker_ids, ["234599484848423"]);
        assert_eq!(
            call.side_of(&phrase.speaker_ids[0]),
            sync::Affiliation::Unknown
        );
    }

    #[test]
    fn a_phrase_without_occurrences_or_count_is_heard_once_by_nobody_known() {
        let phrase: TrackerPhrase =
            serde_json::from_value(serde_json::json!({"phrase": "Clari", "occurrences": null}))
                .expect("parses");
        let tracker = sync::Tracker::from(Tracker {
            name: "Competitors".into(),
            phrases: vec![phrase],
        });
        assert_eq!(tracker.phrases, [sync::Phrase::heard("Clari")]);
    }
}
