//! OAuth state kept across restarts: a refresh token Salesforce rotated.

use sqlx::Row;

use super::{now_ms, Store, StoreError};

impl Store {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_rotated_token_is_used_only_while_its_origin_is_configured() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::connect(&url).await.expect("store opens");
        let name = "salesforce.refresh_token";
        assert_eq!(
            store
                .rotated_token(name, "configured-1")
                .await
                .expect("read"),
            None
        );
        store
            .save_rotated_token(name, "configured-1", "rotated-2")
            .await
            .expect("save");
        assert_eq!(
            store
                .rotated_token(name, "configured-1")
                .await
                .expect("read")
                .as_deref(),
            Some("rotated-2")
        );
        assert_eq!(
            store
                .rotated_token(name, "configured-new")
                .await
                .expect("read"),
            None
        );
    }
}
