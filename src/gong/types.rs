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
}

impl From<Call> for sync::Call {
    fn from(call: Call) -> Self {
        Self {
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
            phrases: tracker.phrases.into_iter().map(|p| p.phrase).collect(),
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

/// Gong ids are up to 20 digits: kept as strings, accepted as JSON numbers too.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
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
