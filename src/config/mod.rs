//! Settings: `config/default.toml` (compiled in), an optional `--config` file, then
//! `COMPETITOR_SYNC__SECTION__KEY` environment variables, validated once at start-up so a
//! bad value stops the service with a message naming the key instead of failing later.
//!
//! One module per section; this one loads them and validates them in a fixed order.

use std::collections::HashMap;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod admin;
mod errors;
mod gong;
mod log;
mod salesforce;
mod server;
mod sources;
mod store;
mod sync;
#[cfg(test)]
mod tests;
mod webhook;
mod worker;

pub use admin::AdminSettings;
pub use errors::{ConfigError, Origin};
pub use gong::{GongSettings, MAX_CALLS_PER_REQUEST};
pub use log::{LogFormat, LogSettings};
pub use salesforce::{SalesforceAuthFlow, SalesforceSettings};
pub use server::ServerSettings;
pub use store::StoreSettings;
pub use sync::{is_api_name, SyncSettings};
pub use webhook::WebhookSettings;
pub use worker::{RetrySettings, WorkerSettings};

use sources::Sources;

pub(crate) const DEFAULTS: &str = include_str!("../../config/default.toml");

pub const ENV_PREFIX: &str = "COMPETITOR_SYNC";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub webhook: WebhookSettings,
    #[serde(default)]
    pub admin: AdminSettings,
    pub gong: GongSettings,
    pub salesforce: SalesforceSettings,
    #[serde(default)]
    pub sync: SyncSettings,
    pub worker: WorkerSettings,
    pub retry: RetrySettings,
    pub log: LogSettings,
    /// Problems worth telling the operator that do not stop start-up.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Keys whose values are secrets: they belong in the environment, not in a file that may be
/// committed.
const SECRET_KEYS: [&str; 8] = [
    "webhook.token",
    "webhook.hmac_secret",
    "admin.token",
    "gong.access_key",
    "gong.access_key_secret",
    "salesforce.client_secret",
    "salesforce.private_key",
    "salesforce.refresh_token",
];

impl Settings {
    /// Loads defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, None)
    }

    /// Like [`Settings::load`], reading `COMPETITOR_SYNC__*` variables from `env` instead of
    /// the process environment when given (tests run in parallel and cannot share it).
    pub fn load_from(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let sources = Sources::read(file, env)?;
        let mut settings: Settings = sources
            .builder()
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|error| sources.explain(error))?;
        settings.validate().map_err(|error| sources.locate(error))?;
        settings.warnings = secrets_in_file(&sources);
        Ok(settings)
    }

    /// Only the `[store]` settings, for commands that read or tidy the job store and need no
    /// Gong or Salesforce credentials.
    pub fn load_store(file: Option<&Path>) -> Result<StoreSettings, ConfigError> {
        // The other sections are not looked at, so their credentials need not be set.
        #[derive(Deserialize)]
        struct StoreOnly {
            store: StoreSettings,
        }
        let sources = Sources::read(file, None)?;
        let StoreOnly { store } = sources
            .builder()
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|error| sources.explain(error))?;
        store
            .validate_url()
            .map_err(|error| sources.locate(error))?;
        Ok(store)
    }

    /// Section by section; the first problem found is the one reported, in the same order
    /// as ever (Gong's and Salesforce's limits before their credentials).
    fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.store.validate()?;
        self.webhook.validate()?;
        self.admin.validate(self.webhook.token.as_ref())?;
        self.gong.validate_endpoint()?;
        self.salesforce.validate_usage_ratio()?;
        self.gong.validate_credentials()?;
        self.salesforce.validate()?;
        self.sync.validate_rules()?;
        self.worker.validate()?;
        self.retry.validate()?;
        self.log.validate()
    }
}

fn secrets_in_file(sources: &Sources) -> Vec<String> {
    SECRET_KEYS
        .iter()
        .filter_map(|key| sources.file_setting(key).map(|file| (key, file)))
        .map(|(key, file)| {
            let env = variable_name(key);
            format!(
                "{key} is set in {file}: a secret in a file tends to end up committed; set {env} instead"
            )
        })
        .collect()
}

/// The environment variable that sets `key`.
fn variable_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}__{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

fn is_blank(secret: &Option<SecretString>) -> bool {
    secret
        .as_ref()
        .is_none_or(|s| s.expose_secret().trim().is_empty())
}

/// The value is not repeated: a URL may carry credentials or a `?key=` token, and what was
/// meant as a URL may be a secret set on the wrong key.
fn validate_http_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let problem = match reqwest::Url::parse(value) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            "has a scheme other than http(s)".into()
        }
        Ok(url) if url.host().is_none() => "names no host".into(),
        Ok(_) => return Ok(()),
        Err(error) => format!("cannot be read as a URL ({error})"),
    };
    Err(ConfigError::invalid(
        key,
        format!("is not an http(s) URL such as https://api.example.com: it {problem}"),
    ))
}
