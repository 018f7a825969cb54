//! Rotated OAuth tokens (`oauth_tokens`).

use sqlx::Row;

use super::{now_ms, SqliteStore};
use crate::store::StoreError;

impl SqliteStore {
    /// The token stored under `name`, if it was rotated from the configured token
    /// `configured`. A token rotated from an older configured one is ignored, so an operator
    /// who sets a new refresh token in the configuration gets that one used.
    pub async fn rotated_token(
        &self,
        name: &str,
        configured: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value, origin FROM oauth_tokens WHERE name = ?1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let origin: String = row.try_get("origin")?;
        Ok((origin == fingerprint(configured))
            .then(|| row.try_get("value"))
            .transpose()?)
    }

    /// Stores `value` as the current token `name`, rotated from the configured `configured`.
    pub async fn save_rotated_token(
        &self,
        name: &str,
        configured: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.writer
            .run(async {
            sqlx::query(
                "INSERT INTO oauth_tokens (name, value, origin, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, origin = excluded.origin, \
                     updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(value)
            .bind(fingerprint(configured))
            .bind(now_ms())
            .execute(self.writer.pool())
            .await?;
            Ok(())
            })
            .await
    }
}

fn fingerprint(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}
