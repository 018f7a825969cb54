//! `[gong]`: the Gong API host, credentials and limits.

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{is_blank, validate_http_url, variable_name, ConfigError};

/// The largest `filter.callIds` sent in one Gong request: Gong's page size.
pub const MAX_CALLS_PER_REQUEST: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GongSettings {
    pub base_url: String,
    pub access_key: Option<SecretString>,
    pub access_key_secret: Option<SecretString>,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    pub requests_per_second: NonZeroU32,
    pub daily_limit: NonZeroU32,
    /// Calls fetched in one request (at most 100, Gong's page size).
    pub batch_size: usize,
}

impl GongSettings {
    pub(super) fn validate_endpoint(&self) -> Result<(), ConfigError> {
        validate_http_url("gong.base_url", &self.base_url)?;
        if !(1..=MAX_CALLS_PER_REQUEST).contains(&self.batch_size) {
            return Err(ConfigError::invalid(
                "gong.batch_size",
                format!("must be between 1 and {}", MAX_CALLS_PER_REQUEST),
            ));
        }
        Ok(())
    }

    pub(super) fn validate_credentials(&self) -> Result<(), ConfigError> {
        require_secret("gong.access_key", &self.access_key)?;
        require_secret("gong.access_key_secret", &self.access_key_secret)
    }
}

fn require_secret(key: &str, secret: &Option<SecretString>) -> Result<(), ConfigError> {
    if is_blank(secret) {
        return Err(ConfigError::invalid(
            key,
            format!("is required (set {})", variable_name(key)),
        ));
    }
    Ok(())
}
