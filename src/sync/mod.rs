//! The domain step, free of I/O: from a Gong call and the sync rules to the field values to
//! write into CRM records.

mod plan;
mod values;

pub use plan::{check_links, plan, FieldPlan, Plan, RecordPlan, SkipReason};
pub use values::{
    competitor_names, field_value, is_salesforce_id, linked_record_ids, merge_names, FieldValue,
};
