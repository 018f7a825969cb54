//! One writer per CRM record at a time, so two jobs for calls that share an Opportunity
//! cannot interleave a merge's read and write and lose names.
//!
//! The locks live in the process: the SQLite store admits a single service process, so the
//! process sees every writer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Default)]
pub struct RecordLocks {
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl RecordLocks {
    /// Holds every record of `keys` (object in lower case, record id), waiting for any held
    /// elsewhere. `keys` must be sorted: taking locks in one global order rules out deadlock.
    pub async fn lock_all(&self, keys: &[(String, String)]) -> Vec<OwnedMutexGuard<()>> {
        let mut guards = Vec::with_capacity(keys.len());
        for (object, record_id) in keys {
            guards.push(self.lock(object, record_id).await);
        }
        guards
    }

    /// Waits until no other job holds `object`/`record_id`, then holds it until the guard drops.
    async fn lock(&self, object: &str, record_id: &str) -> OwnedMutexGuard<()> {
        let key = format!("{}/{record_id}", object.to_ascii_lowercase());
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            // Entries nobody holds or waits for are dropped, so the map stays small.
            locks.retain(|_, lock| lock.strong_count() > 0);
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(mutex) => mutex,
                None => {
                    let mutex = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(key, Arc::downgrade(&mutex));
                    mutex
                }
            }
        };
        mutex.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_same_record_is_held_by_one_job_at_a_time() {
        let locks = Arc::new(RecordLocks::default());
        let first = locks.lock("Opportunity", "006A").await;
        let waiting = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move { locks.lock("opportunity", "006A").await })
        };
        let other_record =
            tokio::time::timeout(Duration::from_secs(1), locks.lock("Opportunity", "006B")).await;
        assert!(other_record.is_ok(), "another record is not blocked");
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the same record waits");
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(second.is_ok(), "released records are handed on");
    }
}
