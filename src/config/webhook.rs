//! `[webhook]`: how a webhook proves it comes from Gong (or a relay).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{validate_http_url, ConfigError};
use crate::webhook_keys::{GongKey, HmacSecret};

/// `[webhook]`, validated: every key and secret parsed.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub token: Option<SecretString>,
    /// Public keys of Gong webhook rules; several during a rotation.
    pub gong_public_keys: Vec<GongKey>,
    /// Standard Webhooks secrets; several during a rotation.
    pub hmac_secrets: Vec<HmacSecret>,
    /// This endpoint's external URL, checked against a Gong JWT's `webhook_url` claim.
    pub public_url: Option<String>,
    pub jwt_leeway: Duration,
    pub allow_unauthenticated: bool,
}

/// `[webhook]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    token: Option<SecretString>,
    /// PEM or bare base64.
    #[serde(default, deserialize_with = "one_or_many")]
    gong_public_key: Vec<String>,
    /// `whsec_...`.
    #[serde(default, deserialize_with = "one_or_many_secrets")]
    hmac_secret: Vec<SecretString>,
    public_url: Option<String>,
    #[serde(with = "humantime_serde")]
    jwt_leeway: Duration,
    allow_unauthenticated: bool,
}

impl RawWebhook {
    fn any_method_configured(&self) -> bool {
        self.token.is_some() || !self.gong_public_key.is_empty() || !self.hmac_secret.is_empty()
    }

    pub(super) fn validate(self) -> Result<WebhookSettings, ConfigError> {
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
        Ok(WebhookSettings {
            gong_public_keys: parse_each(
                "webhook.gong_public_key",
                &self.gong_public_key,
                |text| GongKey::parse(text),
            )?,
            hmac_secrets: parse_each("webhook.hmac_secret", &self.hmac_secret, |secret| {
                HmacSecret::parse(secret.expose_secret())
            })?,
            token: self.token,
            public_url: self.public_url,
            jwt_leeway: self.jwt_leeway,
            allow_unauthenticated: self.allow_unauthenticated,
        })
    }
}

/// Every entry of the list `key` parsed; a malformed one is named by its index.
fn parse_each<T, K>(
    key: &str,
    entries: &[T],
    parse: impl Fn(&T) -> Result<K, String>,
) -> Result<Vec<K>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            parse(entry).map_err(|problem| ConfigError::invalid(format!("{key}[{index}]"), problem))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Deserialize)]
    struct Entries {
        #[serde(deserialize_with = "one_or_many")]
        keys: Vec<String>,
    }

    fn entries(value: serde_json::Value) -> Vec<String> {
        serde_json::from_value::<Entries>(json!({ "keys": value }))
            .expect("entries")
            .keys
    }

    #[test]
    fn one_string_is_split_at_commas_and_a_list_taken_as_it_is() {
        assert_eq!(entries(json!("keyA, keyB")), ["keyA", "keyB"]);
        assert_eq!(entries(json!(" keyA ,, ")), ["keyA"]);
        assert_eq!(entries(json!(["k1", " k2 ", ""])), ["k1", "k2"]);
    }
}
