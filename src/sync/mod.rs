//! The domain step, free of I/O, configuration and wire formats: from a call and the rules
//! to the values to write into CRM records.

mod call;
mod evidence;
mod fit;
mod names;
mod plan;
mod rules;
mod sweep;
mod values;

pub use call::{Affiliation, Call, CrmContext, CrmObject, Party, Phrase, Sentence, Tracker};
pub use evidence::{rule_names, DroppedName, NameEvidence, RuleNames};
pub use fit::{record_changes, FieldChange};
pub use names::{name_key, Competitor, CompetitorList, UnknownNames};
pub use plan::{check_links, plan, FieldPlan, Plan, RecordPlan, SkipReason};
pub use rules::{MentionedBy, NameSource, Rule, WriteMode};
pub use sweep::{sweep_verdict, CallFilter, SweepVerdict};
pub use values::{is_salesforce_id, linked_record_ids, merge_names};
