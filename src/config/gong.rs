//! `[gong]`: the Gong API host, credentials and limits.

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{non_blank, validate_http_url, variable_name, ConfigError};

/// The largest `filter.callIds` sent in one Gong request: Gong's page size.
pub const MAX_CALLS_PER_REQUEST: usize = 100;

/// `[gong]`, validated: the credentials are there.
#[derive(Debug, Clone)]
pub struct GongSettings {
    pub base_url: String,
    pub credentials: GongCredentials,
    pub request_timeout: Duration,
    pub requests_per_second: NonZeroU32,
    pub daily_limit: NonZeroU32,
    /// Calls fetched in one request (at most 100, Gong's page size).
    pub batch_size: usize,
}

/// The API key pair a Gong admin creates, sent as HTTP Basic auth.
#[derive(Debug, Clone)]
pub struct GongCredentials {
    pub access_key: SecretString,
    pub access_key_secret: SecretString,
}

/// `[gong]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGong {
    base_url: String,
    access_key: Option<SecretString>,
    access_key_secret: Option<SecretString>,
    #[serde(with = "humantime_serde")]
    request_timeout: Duration,
    requests_per_second: NonZeroU32,
    daily_limit: NonZeroU32,
    batch_size: usize,
}

impl RawGong {
    /// The host and the batch size: checked apart from [`RawGong::validate`] because
    /// `salesforce.max_api_usage_ratio` is reported before the Gong credentials.
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

    /// The credentials; the endpoint is [`RawGong::validate_endpoint`]'s.
    pub(super) fn validate(self) -> Result<GongSettings, ConfigError> {
        let credentials = GongCredentials {
            access_key: required("gong.access_key", self.access_key)?,
            access_key_secret: required("gong.access_key_secret", self.access_key_secret)?,
        };
        Ok(GongSettings {
            base_url: self.base_url,
            credentials,
            request_timeout: self.request_timeout,
            requests_per_second: self.requests_per_second,
            daily_limit: self.daily_limit,
            batch_size: self.batch_size,
        })
    }
}

fn required(key: &str, secret: Option<SecretString>) -> Result<SecretString, ConfigError> {
    non_blank(secret).ok_or_else(|| {
        ConfigError::invalid(key, format!("is required (set {})", variable_name(key)))
    })
}
