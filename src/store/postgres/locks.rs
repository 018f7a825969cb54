//! Record locks as rows of `record_locks`, taken in one transaction, in the caller's
//! (sorted) order so two replicas never deadlock.

use std::time::Duration;

use super::PgStore;
use crate::store::{RecordKey, StoreError};

impl PgStore {
    pub async fn try_lock_records(
        &self,
        holder: &str,
        keys: &[RecordKey],
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        for key in keys {
            let taken = sqlx::query(
                "INSERT INTO record_locks AS l (record_key, holder, held_until) \
                 VALUES ($1, $2, now_ms() + $3) \
                 ON CONFLICT (record_key) DO UPDATE SET holder = EXCLUDED.holder, \
                     held_until = EXCLUDED.held_until \
                 WHERE l.holder = EXCLUDED.holder OR l.held_until <= now_ms()",
            )
            .bind(key.as_str())
            .bind(holder)
            .bind(lease)
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn unlock_records(&self, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM record_locks WHERE holder = $1")
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
