//! `[salesforce]`: the OAuth flow and its credentials, the REST API version and the share of
//! the org's API allowance this service may use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::EncodingKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{non_blank, validate_http_url, ConfigError};

/// `[salesforce]`, validated: the configured flow with everything it needs.
#[derive(Debug, Clone)]
pub struct SalesforceSettings {
    pub login_url: String,
    pub auth: SalesforceAuth,
    pub api_version: String,
    pub request_timeout: Duration,
    pub limit_pause: Duration,
    /// Share of the org's daily API requests (from `Sforce-Limit-Info`) beyond which
    /// Salesforce writes pause.
    pub max_api_usage_ratio: f64,
}

/// The OAuth flow (`salesforce.auth`) and its credentials; `client_id` is the connected
/// app's consumer key.
#[derive(Debug, Clone)]
pub enum SalesforceAuth {
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    JwtBearer {
        client_id: String,
        username: String,
        audience: String,
        /// The RSA private key, parsed (its `Debug` shows no part of it).
        key: EncodingKey,
    },
    RefreshToken {
        client_id: String,
        /// Only if the connected app requires it.
        client_secret: Option<SecretString>,
        refresh_token: SecretString,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SalesforceAuthFlow {
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

/// `[salesforce]` as written: every flow's keys, each optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSalesforce {
    login_url: String,
    auth: SalesforceAuthFlow,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    username: Option<String>,
    private_key: Option<SecretString>,
    private_key_file: Option<PathBuf>,
    refresh_token: Option<SecretString>,
    audience: String,
    api_version: String,
    #[serde(with = "humantime_serde")]
    request_timeout: Duration,
    #[serde(with = "humantime_serde")]
    limit_pause: Duration,
    max_api_usage_ratio: f64,
}

impl RawSalesforce {
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

    /// The hosts, the API version, then the credentials of the configured flow; the usage
    /// ratio is [`RawSalesforce::validate_usage_ratio`]'s.
    pub(super) fn validate(self) -> Result<SalesforceSettings, ConfigError> {
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
        Ok(SalesforceSettings {
            auth: self.authentication()?,
            login_url: self.login_url,
            api_version: self.api_version,
            request_timeout: self.request_timeout,
            limit_pause: self.limit_pause,
            max_api_usage_ratio: self.max_api_usage_ratio,
        })
    }

    fn authentication(&self) -> Result<SalesforceAuth, ConfigError> {
        let required_for = |key: &str| {
            ConfigError::invalid(
                format!("salesforce.{key}"),
                format!(
                    "is required when salesforce.auth = \"{}\"",
                    self.auth.name()
                ),
            )
        };
        let client_id = present(&self.client_id).ok_or_else(|| required_for("client_id"))?;
        Ok(match self.auth {
            SalesforceAuthFlow::ClientCredentials => SalesforceAuth::ClientCredentials {
                client_id,
                client_secret: non_blank(self.client_secret.clone())
                    .ok_or_else(|| required_for("client_secret"))?,
            },
            SalesforceAuthFlow::JwtBearer => SalesforceAuth::JwtBearer {
                client_id,
                username: present(&self.username).ok_or_else(|| required_for("username"))?,
                audience: self.audience.clone(),
                key: self.private_key()?,
            },
            SalesforceAuthFlow::RefreshToken => SalesforceAuth::RefreshToken {
                client_id,
                refresh_token: non_blank(self.refresh_token.clone())
                    .ok_or_else(|| required_for("refresh_token"))?,
                client_secret: self
                    .client_secret
                    .clone()
                    .filter(|secret| !secret.expose_secret().is_empty()),
            },
        })
    }

    /// The JWT bearer flow's key, from `private_key` or from the file `private_key_file`
    /// names (exactly one of them), parsed.
    fn private_key(&self) -> Result<EncodingKey, ConfigError> {
        match (non_blank(self.private_key.clone()), &self.private_key_file) {
            (None, None) => Err(ConfigError::invalid(
                "salesforce.private_key",
                "is required when salesforce.auth = \"jwt_bearer\" (or set salesforce.private_key_file)",
            )),
            (Some(_), Some(_)) => Err(ConfigError::invalid(
                "salesforce.private_key_file",
                "cannot be set together with salesforce.private_key: choose one",
            )),
            (Some(pem), None) => parse_private_key("salesforce.private_key", pem.expose_secret()),
            (None, Some(path)) => {
                parse_private_key("salesforce.private_key_file", &read_private_key(path)?)
            }
        }
    }
}

/// `value` if it is set to something other than blanks.
fn present(value: &Option<String>) -> Option<String> {
    value.clone().filter(|text| !text.trim().is_empty())
}

fn read_private_key(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| {
        ConfigError::invalid(
            "salesforce.private_key_file",
            format!("cannot be read ({}): {e}", path.display()),
        )
    })
}

/// `key` names where the PEM text came from, for the error.
fn parse_private_key(key: &str, pem: &str) -> Result<EncodingKey, ConfigError> {
    // An environment variable cannot easily hold newlines; accept a literal "\n" too.
    let pem = pem.replace("\\n", "\n");
    EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
        ConfigError::invalid(
            key,
            "is not an RSA private key in PEM form (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
        )
    })
}
