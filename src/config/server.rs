//! `[server]`: the listening socket and what one request may cost.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    pub max_concurrent_webhooks: usize,
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

impl ServerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("server.header_read_timeout", self.header_read_timeout),
            ("server.request_timeout", self.request_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(
                    key,
                    "must be above 0 (every connection would be closed at once)",
                ));
            }
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be above 0",
            ));
        }
        if self.max_concurrent_webhooks == 0 {
            return Err(ConfigError::invalid(
                "server.max_concurrent_webhooks",
                "must be above 0",
            ));
        }
        Ok(())
    }
}
