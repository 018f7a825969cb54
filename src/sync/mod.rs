//! The domain step, free of I/O, configuration and wire formats: from a call and the rules
//! to the values to write into CRM records.

mod call;
mod fit;
mod plan;
mod rules;
mod sweep;
mod values;

pub use call::{Call, CrmContext, CrmObject, Tracker};
pub use fit::{record_changes, FieldChange};
pub use plan::{check_links, plan, FieldPlan, Plan, RecordPlan, SkipReason};
pub use rules::{Rule, WriteMode};
pub use sweep::{sweep_verdict, CallFilter, SweepVerdict};
pub use values::{competitor_names, is_salesforce_id, linked_record_ids, merge_names};
