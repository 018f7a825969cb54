//! `[admin]`: the token for `/admin/*`.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Bearer token for `/admin/*`; without it those endpoints do not exist.
    pub token: Option<SecretString>,
}

impl AdminSettings {
    /// `webhook_token` is `webhook.token`, which the admin token must not equal.
    pub(super) fn validate(&self, webhook_token: Option<&SecretString>) -> Result<(), ConfigError> {
        let Some(admin) = &self.token else {
            return Ok(());
        };
        if admin.expose_secret().trim().len() < 16 {
            return Err(ConfigError::invalid(
                "admin.token",
                "must be at least 16 characters",
            ));
        }
        let same_as_webhook =
            webhook_token.is_some_and(|webhook| webhook.expose_secret() == admin.expose_secret());
        if same_as_webhook {
            return Err(ConfigError::invalid(
                "admin.token",
                "must differ from webhook.token: whoever sends webhooks must not administer jobs",
            ));
        }
        Ok(())
    }
}
