//! One writer per CRM record at a time, across every process using the store, so two jobs
//! for calls that share an Opportunity cannot interleave a merge's read and write and lose
//! names. A lock is a lease row per record, never a session lock held across HTTP calls:
//! a holder that dies loses its locks when the lease runs out.

use std::time::Duration;

use super::{delegate, Store, StoreError};

/// A record as locks name it: the object (compared case-insensitively) and the record id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey(String);

impl RecordKey {
    pub fn new(object: &str, record_id: &str) -> Self {
        Self(format!("{}/{record_id}", object.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Store {
    delegate! {
        /// Takes every record of `keys` for `holder`, for `lease`, or none of them: true when
        /// all were free (or already `holder`'s, or their lease ran out).
        pub async fn try_lock_records(
            &self,
            holder: &str,
            keys: &[RecordKey],
            lease: Duration,
        ) -> Result<bool, StoreError>;
        /// Gives back every record `holder` holds.
        pub async fn unlock_records(&self, holder: &str) -> Result<(), StoreError>;
    }

    /// Waits until every record of `keys` is taken for `holder` (see
    /// [`Store::try_lock_records`]), trying again while another holder has one.
    pub async fn lock_records(
        &self,
        holder: &str,
        keys: &[RecordKey],
        lease: Duration,
    ) -> Result<(), StoreError> {
        const FIRST_PAUSE: Duration = Duration::from_millis(20);
        const LONGEST_PAUSE: Duration = Duration::from_millis(500);
        let mut pause = FIRST_PAUSE;
        while !self.try_lock_records(holder, keys, lease).await? {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
        Ok(())
    }
}
