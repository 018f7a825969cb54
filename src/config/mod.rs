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
mod sweep;
mod sync;
#[cfg(test)]
mod tests;
mod webhook;
mod worker;

pub use admin::AdminSettings;
pub use errors::{ConfigError, Origin};
pub use gong::{GongCredentials, GongSettings, MAX_CALLS_PER_REQUEST};
pub use log::{LogFormat, LogSettings};
pub use salesforce::{SalesforceAuth, SalesforceSettings};
pub use server::ServerSettings;
pub use store::{StoreSettings, StoreUrl};
pub use sweep::SweepSettings;
pub use sync::{is_api_name, SyncSettings};
pub use webhook::WebhookSettings;
pub use worker::{RetrySettings, WorkerSettings};

use gong::RawGong;
use salesforce::RawSalesforce;
use sources::Sources;
use store::RawStore;
use sweep::RawSweep;
use webhook::RawWebhook;

pub(crate) const DEFAULTS: &str = include_str!("../../config/default.toml");

pub const ENV_PREFIX: &str = "COMPETITOR_SYNC";

/// Every section, validated: what the rest of the service is handed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub webhook: WebhookSettings,
    pub admin: AdminSettings,
    pub gong: GongSettings,
    pub salesforce: SalesforceSettings,
    pub sync: SyncSettings,
    pub sweep: SweepSettings,
    pub worker: WorkerSettings,
    pub retry: RetrySettings,
    pub log: LogSettings,
    /// Problems worth telling the operator that do not stop start-up.
    pub warnings: Vec<String>,
}

/// The sources merged, as written: sections whose validation produces another type are in
/// their raw form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: ServerSettings,
    store: RawStore,
    webhook: RawWebhook,
    #[serde(default)]
    admin: AdminSettings,
    gong: RawGong,
    salesforce: RawSalesforce,
    #[serde(default)]
    sync: SyncSettings,
    sweep: RawSweep,
    worker: WorkerSettings,
    retry: RetrySettings,
    log: LogSettings,
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
        let raw: RawSettings = sources
            .builder()
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|error| sources.explain(error))?;
        let mut settings = raw.validate().map_err(|error| sources.locate(error))?;
        settings.warnings = secrets_in_file(&sources);
        Ok(settings)
    }

    /// Only the `[store]` settings, for commands that read or tidy the job store and need no
    /// Gong or Salesforce credentials.
    pub fn load_store(file: Option<&Path>) -> Result<StoreSettings, ConfigError> {
        // The other sections are not looked at, so their credentials need not be set.
        #[derive(Deserialize)]
        struct StoreOnly {
            store: RawStore,
        }
        let sources = Sources::read(file, None)?;
        let StoreOnly { store } = sources
            .builder()
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|error| sources.explain(error))?;
        store.validate_url().map_err(|error| sources.locate(error))
    }
}

impl RawSettings {
    /// Section by section; the first problem found is the one reported, in the same order
    /// as ever (Gong's and Salesforce's limits before their credentials).
    fn validate(self) -> Result<Settings, ConfigError> {
        let Self {
            server,
            store,
            webhook,
            admin,
            gong,
            salesforce,
            sync,
            sweep,
            worker,
            retry,
            log,
        } = self;
        server.validate()?;
        let store = store.validate()?;
        let webhook = webhook.validate()?;
        admin.validate(webhook.token.as_ref())?;
        gong.validate_endpoint()?;
        salesforce.validate_usage_ratio()?;
        let gong = gong.validate()?;
        let salesforce = salesforce.validate()?;
        sync.validate_rules()?;
        let sweep = sweep.validate(gong.daily_limit.get())?;
        worker.validate()?;
        retry.validate()?;
        log.validate()?;
        Ok(Settings {
            server,
            store,
            webhook,
            admin,
            gong,
            salesforce,
            sync,
            sweep,
            worker,
            retry,
            log,
            warnings: Vec::new(),
        })
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

/// `secret` if it is set to something other than blanks.
fn non_blank(secret: Option<SecretString>) -> Option<SecretString> {
    secret.filter(|s| !s.expose_secret().trim().is_empty())
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
