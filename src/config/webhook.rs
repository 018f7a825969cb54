//! `[webhook]`: how a webhook proves it comes from Gong (or a relay).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{validate_http_url, ConfigError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub token: Option<SecretString>,
    /// Public keys of Gong webhook rules (PEM or bare base64); several during a rotation.
    #[serde(default, deserialize_with = "one_or_many")]
    pub gong_public_key: Vec<String>,
    /// Standard Webhooks secrets (`whsec_...`); several during a rotation.
    #[serde(default, deserialize_with = "one_or_many_secrets")]
    pub hmac_secret: Vec<SecretString>,
    /// This endpoint's external URL, checked against a Gong JWT's `webhook_url` claim.
    pub public_url: Option<String>,
    #[serde(with = "humantime_serde")]
    pub jwt_leeway: Duration,
    pub allow_unauthenticated: bool,
}

impl WebhookSettings {
    pub fn any_method_configured(&self) -> bool {
        self.token.is_some() || !self.gong_public_key.is_empty() || !self.hmac_secret.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.token {
            if token.expose_secret().trim().len() < 16 {
                return Err(ConfigError::invalid(
                    "webhook.token",
                    "must be at least 16 characters (generate one with `openssl rand -hex 32`)",
                ));
            }
        }
        if !self.any_method_configured() && !self.allow_unauthenticated {
            return Err(ConfigError::invalid(
                "webhook.token",
                "is not set, nor webhook.gong_public_key or webhook.hmac_secret: anyone who \
                 finds the URL could enqueue work. Set COMPETITOR_SYNC__WEBHOOK__TOKEN (or a \
                 signing method), or set webhook.allow_unauthenticated = true for a local \
                 experiment",
            ));
        }
        if let Some(url) = &self.public_url {
            validate_http_url("webhook.public_url", url)?;
        }
        Ok(())
    }
}

/// A list in a file, or one string with comma-separated entries (as an environment variable
/// holds it). Keys and secrets never contain commas.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let entries = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(list) => list,
    };
    Ok(entries
        .into_iter()
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect())
}

fn one_or_many_secrets<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    Ok(one_or_many(deserializer)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}
