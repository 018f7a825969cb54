//! Rotated OAuth tokens (`oauth_tokens`), shared by every replica.

use sqlx::Row;

use super::PgStore;
use crate::store::StoreError;

impl PgStore {
    pub async fn rotated_token(
        &self,
        name: &str,
        configured: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value, origin FROM oauth_tokens WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let origin: String = row.try_get("origin")?;
        Ok((origin == fingerprint(configured))
            .then(|| row.try_get("value"))
            .transpose()?)
    }

    pub async fn save_rotated_token(
        &self,
        name: &str,
        configured: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_tokens (name, value, origin, updated_at) \
             VALUES ($1, $2, $3, now_ms()) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, \
                 origin = EXCLUDED.origin, updated_at = EXCLUDED.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(fingerprint(configured))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn fingerprint(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}
