//! `[salesforce]`: the OAuth flow and its credentials, the REST API version and the share of
//! the org's API allowance this service may use.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::{is_blank, validate_http_url, ConfigError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceAuthFlow {
    ClientCredentials,
    JwtBearer,
    RefreshToken,
}

impl SalesforceAuthFlow {
    fn name(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::JwtBearer => "jwt_bearer",
            Self::RefreshToken => "refresh_token",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSettings {
    pub login_url: String,
    pub auth: SalesforceAuthFlow,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub username: Option<String>,
    pub private_key: Option<SecretString>,
    pub private_key_file: Option<PathBuf>,
    pub refresh_token: Option<SecretString>,
    pub audience: String,
    pub api_version: String,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub limit_pause: Duration,
    /// Share of the org's daily API requests (from `Sforce-Limit-Info`) beyond which
    /// Salesforce writes pause.
    pub max_api_usage_ratio: f64,
}

impl SalesforceSettings {
    pub(super) fn validate_usage_ratio(&self) -> Result<(), ConfigError> {
        let ratio = self.max_api_usage_ratio;
        if !(ratio > 0.0 && ratio <= 1.0) {
            return Err(ConfigError::invalid(
                "salesforce.max_api_usage_ratio",
                "must be above 0 and at most 1 (e.g. 0.9 for 90%)",
            ));
        }
        Ok(())
    }

    /// The hosts, the API version, then the credentials of the configured flow.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        validate_http_url("salesforce.login_url", &self.login_url)?;
        validate_http_url("salesforce.audience", &self.audience)?;
        let version_ok = self
            .api_version
            .strip_prefix('v')
            .and_then(|n| n.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
            });
        if !version_ok {
            return Err(ConfigError::invalid(
                "salesforce.api_version",
                format!(
                    "`{}` is not a REST API version such as `v62.0`",
                    self.api_version
                ),
            ));
        }
        self.validate_credentials()
    }

    fn validate_credentials(&self) -> Result<(), ConfigError> {
        let required_for = |key: &str| {
            ConfigError::invalid(
                format!("salesforce.{key}"),
                format!(
                    "is required when salesforce.auth = \"{}\"",
                    self.auth.name()
                ),
            )
        };
        if self
            .client_id
            .as_deref()
            .is_none_or(|id| id.trim().is_empty())
        {
            return Err(required_for("client_id"));
        }
        match self.auth {
            SalesforceAuthFlow::ClientCredentials => {
                if is_blank(&self.client_secret) {
                    return Err(required_for("client_secret"));
                }
            }
            SalesforceAuthFlow::JwtBearer => {
                if self.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    return Err(required_for("username"));
                }
                if is_blank(&self.private_key) && self.private_key_file.is_none() {
                    return Err(ConfigError::invalid(
                        "salesforce.private_key",
                        "is required when salesforce.auth = \"jwt_bearer\" (or set salesforce.private_key_file)",
                    ));
                }
                if !is_blank(&self.private_key) && self.private_key_file.is_some() {
                    return Err(ConfigError::invalid(
                        "salesforce.private_key_file",
                        "cannot be set together with salesforce.private_key: choose one",
                    ));
                }
            }
            SalesforceAuthFlow::RefreshToken => {
                if is_blank(&self.refresh_token) {
                    return Err(required_for("refresh_token"));
                }
            }
        }
        Ok(())
    }
}
