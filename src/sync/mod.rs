//! The domain step, free of I/O, configuration and wire formats: from a call and the rules
//! to the values to write into CRM records.

mod call;
mod evidence;
mod fit;
mod names;
mod plan;
mod rows;
mod rules;
mod shape;
mod sweep;
mod values;

pub use call::{Affiliation, Call, CrmContext, CrmObject, Party, Phrase, Sentence, Tracker};
pub use evidence::{rule_names, DroppedName, NameEvidence, RuleNames};
pub use fit::{record_changes, FieldChange, RecordFit};
pub use names::{name_key, Competitor, CompetitorList, UnknownNames};
pub use plan::{check_links, plan, FieldPlan, Plan, RecordPlan, SkipReason};
pub use rows::{rows_to_add, RowsToAdd};
pub use rules::{
    MentionedBy, NameSource, Rule, RuleTarget, WriteMode, COMPETITOR_ROWS, ROW_NAME_FIELD,
    ROW_PARENT_FIELD,
};
pub use shape::{
    shorten, FieldKind, FieldShape, FitNote, FitOutcome, PicklistValue, PICKLIST_SEPARATOR,
};
pub use sweep::{sweep_verdict, CallFilter, SweepVerdict};
pub use values::{is_salesforce_id, linked_record_ids, merge_names};
