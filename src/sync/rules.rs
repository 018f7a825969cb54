//! The sync rules: which tracker's names go into which field of which linked record, and
//! how. Read from the configuration (`[[sync.rules]]`), with a default for every key.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Replace the field with the competitors heard on this call.
    Overwrite,
    /// Keep what the field holds and append the new competitors.
    Merge,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The tracker whose phrases are the names, matched case-insensitively.
    #[serde(default = "Rule::default_tracker")]
    pub tracker: String,
    #[serde(default = "Rule::default_object")]
    pub object: String,
    #[serde(default = "Rule::default_field")]
    pub field: String,
    #[serde(default = "Rule::default_separator")]
    pub separator: String,
    #[serde(default = "Rule::default_mode")]
    pub mode: WriteMode,
    /// Whose mentions count: anyone's, the customer's, or the company's own people's.
    #[serde(default)]
    pub mentioned_by: MentionedBy,
    /// Where the names come from: the tracker's phrases, or the transcript (read for the
    /// competitor list's names).
    #[serde(default)]
    pub source: NameSource,
}

/// Whose mentions of a competitor count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MentionedBy {
    #[default]
    Anyone,
    /// Parties Gong marks `External`.
    Customer,
    /// Parties Gong marks `Internal`.
    Company,
}

/// Where a rule's names come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// The phrases of the rule's keyword tracker.
    #[default]
    Tracker,
    /// The call's transcript, searched for the competitor list's names and aliases.
    Transcript,
}

impl Rule {
    /// Whether only one side's mentions count, so Gong must say who spoke.
    pub fn filters_by_side(&self) -> bool {
        self.mentioned_by != MentionedBy::Anyone
    }

    /// Whether the names come from the call's transcript.
    pub fn reads_transcript(&self) -> bool {
        self.source == NameSource::Transcript
    }

    fn default_tracker() -> String {
        "Competitors".into()
    }
    fn default_object() -> String {
        "Opportunity".into()
    }
    fn default_field() -> String {
        "Main_Competitors__c".into()
    }
    fn default_separator() -> String {
        ", ".into()
    }
    fn default_mode() -> WriteMode {
        WriteMode::Overwrite
    }
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            tracker: Self::default_tracker(),
            object: Self::default_object(),
            field: Self::default_field(),
            separator: Self::default_separator(),
            mode: Self::default_mode(),
            mentioned_by: MentionedBy::default(),
            source: NameSource::default(),
        }
    }
}
