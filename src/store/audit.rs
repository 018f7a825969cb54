//! The audit trail: what became of each record a job writes, and every value written.

use std::collections::HashMap;

use super::{delegate, FieldWrite, Resolution, Store, StoreError, Target};

impl Store {
    delegate! {
        /// Records the outcome of records, and the field values written to them, together, as
        /// soon as the CRM confirmed them. A retried job skips records already resolved.
        pub async fn resolve_targets(&self, resolutions: &[Resolution<'_>]) -> Result<(), StoreError>;
        /// The records a job has resolved so far.
        pub async fn targets(&self, job_id: &str) -> Result<Vec<Target>, StoreError>;
        /// The records each of `job_ids` has resolved so far, in one read: a batch's
        /// earlier attempts at once. Jobs without any are absent.
        pub async fn targets_of_jobs(
            &self,
            job_ids: &[&str],
        ) -> Result<HashMap<String, Vec<Target>>, StoreError>;
        /// The field values a job wrote, in order.
        pub async fn writes_for_job(&self, job_id: &str) -> Result<Vec<FieldWrite>, StoreError>;
    }
}
