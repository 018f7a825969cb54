//! A call as the domain sees it: the CRM records it is linked to, what its trackers heard
//! and who said it, and its transcript when a rule reads it. The Gong client turns Gong's
//! wire format into this at its edge.

use std::time::Duration;

/// One call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    /// `External`, `Internal` or `Unknown`, as Gong classifies the call, when known.
    pub scope: Option<String>,
    /// How long the call lasted, when known.
    pub duration: Option<Duration>,
    /// Linked CRM records, per CRM system; empty when Gong knows none (or the webhook did
    /// not carry them).
    pub context: Vec<CrmContext>,
    pub trackers: Vec<Tracker>,
    /// The call's speakers and their side, when Gong was asked for them.
    pub parties: Vec<Party>,
    /// What was said, sentence by sentence, when a rule reads transcripts; `None` when it was
    /// not fetched or Gong has none.
    pub transcript: Option<Vec<Sentence>>,
}

impl Call {
    /// The side of the speaker `speaker_id`, as the call's parties say.
    pub fn side_of(&self, speaker_id: &str) -> Affiliation {
        self.parties
            .iter()
            .find(|party| party.speaker_id == speaker_id)
            .map_or(Affiliation::Unknown, |party| party.affiliation)
    }
}

/// A speaker of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub speaker_id: String,
    pub affiliation: Affiliation,
}

/// Which side a speaker is on, as Gong classifies parties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Affiliation {
    /// The company's own people (Gong's `Internal`).
    Internal,
    /// The customer's (Gong's `External`).
    External,
    #[default]
    Unknown,
}

impl Affiliation {
    /// Gong's `affiliation` value; anything else is unknown.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "internal" => Self::Internal,
            "external" => Self::External,
            _ => Self::Unknown,
        }
    }
}

/// One sentence of a transcript, and who said it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sentence {
    pub speaker_id: String,
    pub text: String,
}

/// The records of one CRM system linked to a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmContext {
    pub system: String,
    pub objects: Vec<CrmObject>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmObject {
    pub object_type: String,
    pub object_id: String,
}

/// A tracker and the phrases it heard (keyword trackers; smart trackers hear none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracker {
    pub name: String,
    pub phrases: Vec<Phrase>,
}

/// A phrase a tracker heard: how often, and who said it each time (when Gong was asked for
/// occurrences and has them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Phrase {
    pub text: String,
    pub count: u32,
    /// The speaker of each occurrence; empty when Gong sent no occurrences.
    pub speaker_ids: Vec<String>,
}

impl Phrase {
    /// A phrase heard once, speaker unknown.
    pub fn heard(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            count: 1,
            speaker_ids: Vec::new(),
        }
    }
}
