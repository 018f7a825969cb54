//! The sync rules: which tracker's names go into which field of which linked record, or into
//! the Opportunity's Competitors related list, and how. Read from the configuration
//! (`[[sync.rules]]`), with a default for every key.

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
    /// The object written: a linked record's, or [`COMPETITOR_ROWS`] for the related list.
    #[serde(default = "Rule::default_object")]
    pub object: String,
    /// The field written; `None` means `Main_Competitors__c` (a related-list rule has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
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

/// The Competitors related list of an Opportunity: its rows, one per competitor.
pub const COMPETITOR_ROWS: &str = "OpportunityCompetitor";
/// The Opportunity a related-list row belongs to.
pub const ROW_PARENT_FIELD: &str = "OpportunityId";
/// The row's competitor name.
pub const ROW_NAME_FIELD: &str = "CompetitorName";
const DEFAULT_FIELD: &str = "Main_Competitors__c";

/// What a rule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleTarget<'a> {
    /// A field of each linked record of `object`.
    Field { object: &'a str, field: &'a str },
    /// A row per competitor in each linked Opportunity's Competitors related list.
    CompetitorRows,
}

impl Rule {
    /// What the rule writes.
    pub fn target(&self) -> RuleTarget<'_> {
        if self.writes_rows() {
            RuleTarget::CompetitorRows
        } else {
            RuleTarget::Field {
                object: &self.object,
                field: self.field.as_deref().unwrap_or(DEFAULT_FIELD),
            }
        }
    }

    /// Whether the rule adds rows to the Competitors related list.
    pub fn writes_rows(&self) -> bool {
        self.object.eq_ignore_ascii_case(COMPETITOR_ROWS)
    }

    /// The object of the linked records in Gong's CRM context: the related list's rows
    /// belong to the call's Opportunities.
    pub fn linked_object(&self) -> &str {
        if self.writes_rows() {
            "Opportunity"
        } else {
            &self.object
        }
    }

    /// The field names are written to: the rule's field, or the row's name field.
    pub fn written_field(&self) -> &str {
        match self.target() {
            RuleTarget::Field { field, .. } => field,
            RuleTarget::CompetitorRows => ROW_NAME_FIELD,
        }
    }

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
            field: None,
            separator: Self::default_separator(),
            mode: Self::default_mode(),
            mentioned_by: MentionedBy::default(),
            source: NameSource::default(),
        }
    }
}
