//! `[store]`: where jobs are kept.

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub url: String,
    pub max_queued: u64,
}

impl StoreSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_queued == 0 {
            return Err(ConfigError::invalid("store.max_queued", "must be above 0"));
        }
        self.validate_url()
    }

    /// The URL alone, for commands that only read or tidy the store.
    pub(super) fn validate_url(&self) -> Result<(), ConfigError> {
        if self.url.trim().is_empty() {
            return Err(ConfigError::invalid("store.url", "must not be empty"));
        }
        Ok(())
    }
}
