//! Settings: `config/default.toml` (compiled in), an optional `--config` file, then
//! `COMPETITOR_SYNC__SECTION__KEY` environment variables, validated once at start-up so a
//! bad value stops the service with a message naming the key instead of failing later.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::sync::Rule;
use serde::Deserialize;

mod errors;
mod sources;

pub use errors::{ConfigError, Origin};
use sources::Sources;

pub(crate) const DEFAULTS: &str = include_str!("../../config/default.toml");
/// The largest `filter.callIds` sent in one Gong request: Gong's page size.
pub const MAX_CALLS_PER_REQUEST: usize = 100;

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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub url: String,
    pub max_queued: u64,
}

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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Bearer token for `/admin/*`; without it those endpoints do not exist.
    pub token: Option<SecretString>,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceAuthFlow {
    ClientCredentials,
    JwtBearer,
    RefreshToken,
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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Do everything but the CRM write, recording what would have been written.
    #[serde(default)]
    pub dry_run: bool,
}

impl SyncSettings {
    /// The configured rules, or the single default rule when none is configured.
    pub fn effective_rules(&self) -> Vec<Rule> {
        if self.rules.is_empty() {
            vec![Rule::default()]
        } else {
            self.rules.clone()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    pub concurrency: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// How long a new job waits for others to share its Gong request.
    #[serde(with = "humantime_serde")]
    pub batch_window: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub base_delay: Duration,
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// JSON when standard output is not a terminal, human-readable otherwise.
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

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
        if store.url.trim().is_empty() {
            return Err(sources.locate(ConfigError::invalid("store.url", "must not be empty")));
        }
        Ok(store)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            (
                "server.header_read_timeout",
                self.server.header_read_timeout,
            ),
            ("server.request_timeout", self.server.request_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(
                    key,
                    "must be above 0 (every connection would be closed at once)",
                ));
            }
        }
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be above 0",
            ));
        }
        if self.server.max_concurrent_webhooks == 0 {
            return Err(ConfigError::invalid(
                "server.max_concurrent_webhooks",
                "must be above 0",
            ));
        }
        if self.store.max_queued == 0 {
            return Err(ConfigError::invalid("store.max_queued", "must be above 0"));
        }
        if self.store.url.trim().is_empty() {
            return Err(ConfigError::invalid("store.url", "must not be empty"));
        }
        if let Some(token) = &self.webhook.token {
            if token.expose_secret().trim().len() < 16 {
                return Err(ConfigError::invalid(
                    "webhook.token",
                    "must be at least 16 characters (generate one with `openssl rand -hex 32`)",
                ));
            }
        }
        if !self.webhook.any_method_configured() && !self.webhook.allow_unauthenticated {
            return Err(ConfigError::invalid(
                "webhook.token",
                "is not set, nor webhook.gong_public_key or webhook.hmac_secret: anyone who \
                 finds the URL could enqueue work. Set COMPETITOR_SYNC__WEBHOOK__TOKEN (or a \
                 signing method), or set webhook.allow_unauthenticated = true for a local \
                 experiment",
            ));
        }
        if let Some(url) = &self.webhook.public_url {
            validate_http_url("webhook.public_url", url)?;
        }
        if let Some(admin) = &self.admin.token {
            if admin.expose_secret().trim().len() < 16 {
                return Err(ConfigError::invalid(
                    "admin.token",
                    "must be at least 16 characters",
                ));
            }
            let same_as_webhook = self
                .webhook
                .token
                .as_ref()
                .is_some_and(|webhook| webhook.expose_secret() == admin.expose_secret());
            if same_as_webhook {
                return Err(ConfigError::invalid(
                    "admin.token",
                    "must differ from webhook.token: whoever sends webhooks must not administer jobs",
                ));
            }
        }
        validate_http_url("gong.base_url", &self.gong.base_url)?;
        if !(1..=MAX_CALLS_PER_REQUEST).contains(&self.gong.batch_size) {
            return Err(ConfigError::invalid(
                "gong.batch_size",
                format!("must be between 1 and {}", MAX_CALLS_PER_REQUEST),
            ));
        }
        let ratio = self.salesforce.max_api_usage_ratio;
        if !(ratio > 0.0 && ratio <= 1.0) {
            return Err(ConfigError::invalid(
                "salesforce.max_api_usage_ratio",
                "must be above 0 and at most 1 (e.g. 0.9 for 90%)",
            ));
        }
        require_secret("gong.access_key", &self.gong.access_key)?;
        require_secret("gong.access_key_secret", &self.gong.access_key_secret)?;
        self.validate_salesforce()?;
        self.validate_rules()?;
        if self.worker.concurrency == 0 {
            return Err(ConfigError::invalid(
                "worker.concurrency",
                "must be at least 1",
            ));
        }
        if self.worker.lease < Duration::from_secs(10) {
            return Err(ConfigError::invalid(
                "worker.lease",
                "must be at least 10s: a shorter lease lets a second worker take a job still running",
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::invalid(
                "retry.max_attempts",
                "must be at least 1",
            ));
        }
        if self.retry.base_delay > self.retry.max_delay {
            return Err(ConfigError::invalid(
                "retry.base_delay",
                "must not be longer than retry.max_delay",
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(ConfigError::invalid(
                "log.level",
                format!(
                    "`{}` is not a log filter such as `info` or `competitor_sync=debug`",
                    self.log.level
                ),
            ));
        }
        Ok(())
    }

    fn validate_salesforce(&self) -> Result<(), ConfigError> {
        let sf = &self.salesforce;
        validate_http_url("salesforce.login_url", &sf.login_url)?;
        validate_http_url("salesforce.audience", &sf.audience)?;
        let version_ok = sf
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
                    sf.api_version
                ),
            ));
        }
        let required_for = |key: &str| {
            ConfigError::invalid(
                format!("salesforce.{key}"),
                format!(
                    "is required when salesforce.auth = \"{}\"",
                    self.auth_name()
                ),
            )
        };
        if sf
            .client_id
            .as_deref()
            .is_none_or(|id| id.trim().is_empty())
        {
            return Err(required_for("client_id"));
        }
        match sf.auth {
            SalesforceAuthFlow::ClientCredentials => {
                if is_blank(&sf.client_secret) {
                    return Err(required_for("client_secret"));
                }
            }
            SalesforceAuthFlow::JwtBearer => {
                if sf.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    return Err(required_for("username"));
                }
                if is_blank(&sf.private_key) && sf.private_key_file.is_none() {
                    return Err(ConfigError::invalid(
                        "salesforce.private_key",
                        "is required when salesforce.auth = \"jwt_bearer\" (or set salesforce.private_key_file)",
                    ));
                }
                if !is_blank(&sf.private_key) && sf.private_key_file.is_some() {
                    return Err(ConfigError::invalid(
                        "salesforce.private_key_file",
                        "cannot be set together with salesforce.private_key: choose one",
                    ));
                }
            }
            SalesforceAuthFlow::RefreshToken => {
                if is_blank(&sf.refresh_token) {
                    return Err(required_for("refresh_token"));
                }
            }
        }
        Ok(())
    }

    fn auth_name(&self) -> &'static str {
        match self.salesforce.auth {
            SalesforceAuthFlow::ClientCredentials => "client_credentials",
            SalesforceAuthFlow::JwtBearer => "jwt_bearer",
            SalesforceAuthFlow::RefreshToken => "refresh_token",
        }
    }

    fn validate_rules(&self) -> Result<(), ConfigError> {
        let rules = self.sync.effective_rules();
        for (index, rule) in rules.iter().enumerate() {
            let key = |name: &str| format!("sync.rules[{index}].{name}");
            if rule.tracker.trim().is_empty() {
                return Err(ConfigError::invalid(key("tracker"), "must not be empty"));
            }
            if !is_api_name(&rule.object) {
                return Err(ConfigError::invalid(
                    key("object"),
                    format!("`{}` is not a Salesforce object API name", rule.object),
                ));
            }
            if !is_api_name(&rule.field) {
                return Err(ConfigError::invalid(
                    key("field"),
                    format!(
                        "`{}` is not a Salesforce field API name such as `Main_Competitors__c`",
                        rule.field
                    ),
                ));
            }
            if rule.separator.is_empty() {
                return Err(ConfigError::invalid(key("separator"), "must not be empty"));
            }
            let clash = rules[..index].iter().any(|earlier| {
                earlier.object.eq_ignore_ascii_case(&rule.object)
                    && earlier.field.eq_ignore_ascii_case(&rule.field)
            });
            if clash {
                return Err(ConfigError::invalid(
                    key("field"),
                    format!(
                        "{}.{} is already written by an earlier rule: two rules cannot own one field",
                        rule.object, rule.field
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn secrets_in_file(sources: &Sources) -> Vec<String> {
    SECRET_KEYS
        .iter()
        .filter_map(|key| sources.file_setting(key).map(|file| (key, file)))
        .map(|(key, file)| {
            let env = format!("{ENV_PREFIX}__{}", key.replace('.', "__").to_ascii_uppercase());
            format!(
                "{key} is set in {file}: a secret in a file tends to end up committed; set {env} instead"
            )
        })
        .collect()
}

fn is_blank(secret: &Option<SecretString>) -> bool {
    secret
        .as_ref()
        .is_none_or(|s| s.expose_secret().trim().is_empty())
}

fn require_secret(key: &str, secret: &Option<SecretString>) -> Result<(), ConfigError> {
    if is_blank(secret) {
        let env = format!(
            "{ENV_PREFIX}__{}",
            key.replace('.', "__").to_ascii_uppercase()
        );
        return Err(ConfigError::invalid(
            key,
            format!("is required (set {env})"),
        ));
    }
    Ok(())
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

/// Salesforce API names are letters, digits and underscores, starting with a letter. They
/// are spliced into URLs and SOQL, so anything else is refused up front.
pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::WriteMode;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut vars: HashMap<String, String> = [
            ("COMPETITOR_SYNC__WEBHOOK__TOKEN", "0123456789abcdef0123"),
            ("COMPETITOR_SYNC__GONG__ACCESS_KEY", "key"),
            ("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET", "secret"),
            ("COMPETITOR_SYNC__SALESFORCE__CLIENT_ID", "client"),
            ("COMPETITOR_SYNC__SALESFORCE__CLIENT_SECRET", "sf-secret"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            vars.insert(k.to_string(), v.to_string());
        }
        vars
    }

    fn error_for(pairs: &[(&str, &str)]) -> String {
        Settings::load_from(None, Some(env(pairs)))
            .expect_err("configuration should be rejected")
            .to_string()
    }

    #[test]
    fn defaults_plus_required_secrets_load() {
        let settings = Settings::load_from(None, Some(env(&[]))).expect("valid configuration");
        assert_eq!(settings.server.bind.port(), 8080);
        assert_eq!(settings.salesforce.api_version, "v62.0");
        assert_eq!(settings.sync.effective_rules(), vec![Rule::default()]);
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let settings = Settings::load_from(
            None,
            Some(env(&[(
                "COMPETITOR_SYNC__GONG__BASE_URL",
                "https://us-12345.api.gong.io",
            )])),
        )
        .expect("valid configuration");
        assert_eq!(settings.gong.base_url, "https://us-12345.api.gong.io");
    }

    #[test]
    fn missing_secret_names_the_key_and_variable() {
        let mut vars = env(&[]);
        vars.remove("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET");
        let message = Settings::load_from(None, Some(vars))
            .unwrap_err()
            .to_string();
        assert!(message.contains("gong.access_key_secret"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET"),
            "{message}"
        );
    }

    #[test]
    fn refuses_to_start_without_webhook_authentication() {
        let mut vars = env(&[]);
        vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
        let message = Settings::load_from(None, Some(vars))
            .unwrap_err()
            .to_string();
        assert!(message.contains("webhook.token"), "{message}");
        assert!(message.contains("allow_unauthenticated"), "{message}");

        let mut vars = env(&[("COMPETITOR_SYNC__WEBHOOK__ALLOW_UNAUTHENTICATED", "true")]);
        vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
        assert!(Settings::load_from(None, Some(vars)).is_ok());
    }

    #[test]
    fn invalid_values_name_their_key() {
        assert!(error_for(&[("COMPETITOR_SYNC__SERVER__BIND", "not-an-address")]).contains("bind"));
        assert!(
            error_for(&[("COMPETITOR_SYNC__SERVER__HEADER_READ_TIMEOUT", "0s")])
                .contains("server.header_read_timeout")
        );
        assert!(
            error_for(&[("COMPETITOR_SYNC__GONG__BASE_URL", "ftp://x")]).contains("gong.base_url")
        );
        assert!(error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "password")]).contains("auth"));
        assert!(
            error_for(&[("COMPETITOR_SYNC__SALESFORCE__API_VERSION", "62")])
                .contains("salesforce.api_version")
        );
        assert!(
            error_for(&[("COMPETITOR_SYNC__WEBHOOK__TOKEN", "short")]).contains("webhook.token")
        );
        assert!(error_for(&[("COMPETITOR_SYNC__WORKER__CONCURRENCY", "0")])
            .contains("worker.concurrency"));
        assert!(
            error_for(&[("COMPETITOR_SYNC__RETRY__MAX_DELAY", "1s")]).contains("retry.base_delay")
        );
    }

    #[test]
    fn each_auth_flow_requires_its_own_keys() {
        let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "jwt_bearer")]);
        assert!(message.contains("salesforce.username"), "{message}");
        let message = error_for(&[
            ("COMPETITOR_SYNC__SALESFORCE__AUTH", "jwt_bearer"),
            (
                "COMPETITOR_SYNC__SALESFORCE__USERNAME",
                "integration@acme.example",
            ),
        ]);
        assert!(message.contains("salesforce.private_key"), "{message}");
        let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", "refresh_token")]);
        assert!(message.contains("salesforce.refresh_token"), "{message}");
    }

    #[test]
    fn rules_come_from_a_file_and_are_validated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rules.toml");
        std::fs::write(
            &path,
            r#"
[[sync.rules]]
tracker = "Competitors"
mode = "merge"

[[sync.rules]]
tracker = "Pricing"
field = "Pricing_Topics__c"
separator = "; "
"#,
        )
        .expect("write config");
        let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid rules");
        let rules = settings.sync.effective_rules();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].mode, WriteMode::Merge);
        assert_eq!(rules[0].field, "Main_Competitors__c");
        assert_eq!(rules[1].separator, "; ");

        std::fs::write(&path, "[[sync.rules]]\nfield = \"Bad Field'\"\n").expect("write config");
        let message = Settings::load_from(Some(&path), Some(env(&[])))
            .unwrap_err()
            .to_string();
        assert!(message.contains("sync.rules[0].field"), "{message}");

        std::fs::write(
            &path,
            "[[sync.rules]]\n[[sync.rules]]\ntracker = \"Other\"\n",
        )
        .expect("write config");
        let message = Settings::load_from(Some(&path), Some(env(&[])))
            .unwrap_err()
            .to_string();
        assert!(message.contains("sync.rules[1].field"), "{message}");
    }

    #[test]
    fn secrets_in_a_config_file_are_warned_about() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("prod.toml");
        std::fs::write(
            &path,
            "[gong]\naccess_key_secret = \"oops\"\nbase_url = \"https://api.gong.io\"\n",
        )
        .expect("write config");
        let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid");
        assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
        assert!(settings.warnings[0].contains("gong.access_key_secret"));
        assert!(settings.warnings[0].contains("COMPETITOR_SYNC__GONG__ACCESS_KEY_SECRET"));
        assert!(!settings.warnings[0].contains("oops"));
        assert!(Settings::load_from(None, Some(env(&[])))
            .expect("valid")
            .warnings
            .is_empty());
    }

    #[test]
    fn key_lists_come_from_a_file_or_a_comma_separated_variable() {
        let settings = Settings::load_from(
            None,
            Some(env(&[
                ("COMPETITOR_SYNC__WEBHOOK__GONG_PUBLIC_KEY", "keyA, keyB"),
                ("COMPETITOR_SYNC__WEBHOOK__HMAC_SECRET", "whsec_one"),
            ])),
        )
        .expect("valid");
        assert_eq!(settings.webhook.gong_public_key, ["keyA", "keyB"]);
        assert_eq!(settings.webhook.hmac_secret.len(), 1);

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.toml");
        std::fs::write(
            &path,
            "[webhook]\ngong_public_key = [\"k1\", \"k2\", \"k3\"]\n",
        )
        .expect("write config");
        let settings = Settings::load_from(Some(&path), Some(env(&[]))).expect("valid");
        assert_eq!(settings.webhook.gong_public_key.len(), 3);
    }

    #[test]
    fn a_signing_method_alone_is_enough_authentication() {
        let mut vars = env(&[("COMPETITOR_SYNC__WEBHOOK__HMAC_SECRET", "whsec_x")]);
        vars.remove("COMPETITOR_SYNC__WEBHOOK__TOKEN");
        assert!(Settings::load_from(None, Some(vars)).is_ok());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, "[gong]\nacess_key = \"x\"\n").expect("write config");
        let message = Settings::load_from(Some(&path), Some(env(&[])))
            .unwrap_err()
            .to_string();
        assert!(message.contains("acess_key"), "{message}");
    }

    /// A config file holding `text`, in a directory removed when the guard drops.
    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, text).expect("write config");
        (dir, path)
    }

    fn file_error(path: &Path) -> String {
        Settings::load_from(Some(path), Some(env(&[])))
            .expect_err("configuration should be rejected")
            .to_string()
    }

    #[test]
    fn a_syntax_error_names_the_file_line_and_key_but_not_the_secret() {
        for (text, secret) in [
            (
                "[webhook]\ntoken = \"s3cret-value-here-123\n",
                "s3cret-value-here-123",
            ),
            ("[webhook]\ntoken = s3cret-value\n", "s3cret-value"),
        ] {
            let (_dir, path) = config_file(text);
            let message = file_error(&path);
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("line 2"), "{message}");
            assert!(message.contains("webhook.token"), "{message}");
            assert!(!message.contains(secret), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn a_variable_of_the_wrong_type_is_named_but_not_echoed() {
        let secret = "some-secret-looking-value";
        let message = error_for(&[("COMPETITOR_SYNC__SYNC__DRY_RUN", secret)]);
        assert!(message.contains("sync.dry_run"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__SYNC__DRY_RUN"),
            "{message}"
        );
        assert!(message.contains("expected a boolean"), "{message}");
        assert!(!message.contains(secret), "{message}");
    }

    #[test]
    fn a_bad_duration_or_address_variable_is_named_but_not_echoed() {
        let secret = "ten-secret-seconds";
        let message = error_for(&[("COMPETITOR_SYNC__SERVER__REQUEST_TIMEOUT", secret)]);
        assert!(message.contains("server.request_timeout"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__SERVER__REQUEST_TIMEOUT"),
            "{message}"
        );
        assert!(message.contains("expected a duration"), "{message}");
        assert!(!message.contains(secret), "{message}");

        let secret = "secret-host-name:80x";
        let message = error_for(&[("COMPETITOR_SYNC__SERVER__BIND", secret)]);
        assert!(message.contains("server.bind"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__SERVER__BIND"),
            "{message}"
        );
        assert!(message.contains("socket address"), "{message}");
        assert!(!message.contains("secret-host"), "{message}");
    }

    #[test]
    fn an_unknown_choice_is_named_but_not_echoed() {
        let secret = "Password-Flow-Secret";
        let message = error_for(&[("COMPETITOR_SYNC__SALESFORCE__AUTH", secret)]);
        assert!(message.contains("salesforce.auth"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__SALESFORCE__AUTH"),
            "{message}"
        );
        assert!(
            !message.to_lowercase().contains("password-flow"),
            "{message}"
        );
    }

    #[test]
    fn a_file_value_of_the_wrong_type_names_file_line_and_key_but_not_the_value() {
        let (_dir, path) = config_file("[server]\nmax_body_bytes = \"lots-of-secret\"\n");
        let message = file_error(&path);
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("server.max_body_bytes"), "{message}");
        assert!(message.contains("expected an integer"), "{message}");
        assert!(!message.contains("lots-of-secret"), "{message}");

        let (_dir, path) = config_file("[[sync.rules]]\nmode = \"secret-mode\"\n");
        let message = file_error(&path);
        assert!(message.contains("sync.rules[0].mode"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("secret-mode"), "{message}");
    }

    #[test]
    fn a_store_setting_of_the_wrong_type_names_its_key() {
        let (_dir, path) = config_file("[store]\n\nmax_queued = \"many-secret-jobs\"\n");
        let message = Settings::load_store(Some(&path))
            .expect_err("a string is not a count")
            .to_string();
        assert!(message.contains("store.max_queued"), "{message}");
        assert!(message.contains("line 3"), "{message}");
        assert!(!message.contains("many-secret-jobs"), "{message}");
    }

    #[test]
    fn a_url_that_is_not_http_is_not_echoed() {
        let message = error_for(&[(
            "COMPETITOR_SYNC__WEBHOOK__PUBLIC_URL",
            "ftp://sync.example.com/webhooks/gong?key=url-secret-token-42",
        )]);
        assert!(message.contains("webhook.public_url"), "{message}");
        assert!(
            message.contains("COMPETITOR_SYNC__WEBHOOK__PUBLIC_URL"),
            "{message}"
        );
        assert!(!message.contains("url-secret-token-42"), "{message}");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let settings = Settings::load_from(None, Some(env(&[]))).expect("valid configuration");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("sf-secret"), "{debug}");
        assert!(!debug.contains("0123456789abcdef0123"), "{debug}");
    }
}
