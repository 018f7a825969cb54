//! Record locks as rows of `record_locks`, taken in one write transaction.

use std::time::Duration;

use super::{now_ms, SqliteStore};
use crate::store::{RecordKey, StoreError};

impl SqliteStore {
    pub async fn try_lock_records(
        &self,
        holder: &str,
        keys: &[RecordKey],
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        self.writer
            .run(async {
                let mut tx = self.writer.begin().await?;
                for key in keys {
                    let taken = sqlx::query(
                        "INSERT INTO record_locks (record_key, holder, held_until) \
                         VALUES (?1, ?2, ?3) \
                         ON CONFLICT (record_key) DO UPDATE SET holder = excluded.holder, \
                             held_until = excluded.held_until \
                         WHERE record_locks.holder = excluded.holder \
                             OR record_locks.held_until <= ?4",
                    )
                    .bind(key.as_str())
                    .bind(holder)
                    .bind(until)
                    .bind(now)
                    .execute(tx.conn())
                    .await?;
                    if taken.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                }
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    pub async fn unlock_records(&self, holder: &str) -> Result<(), StoreError> {
        self.writer
            .run(async {
                sqlx::query("DELETE FROM record_locks WHERE holder = ?1")
                    .bind(holder)
                    .execute(self.writer.pool())
                    .await?;
                Ok(())
            })
            .await
    }
}
