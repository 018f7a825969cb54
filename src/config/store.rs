//! `[store]`: where jobs are kept.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::ConfigError;
use crate::store;

/// `[store]`, validated.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub url: StoreUrl,
    pub max_queued: u64,
    /// PostgreSQL: wake every replica's workers with `LISTEN`/`NOTIFY`.
    pub notify: bool,
    /// PostgreSQL: connections each process opens at most.
    pub max_connections: u32,
}

/// `store.url`, of a scheme this build can open. A secret: a database URL may carry a
/// password, so it is shown only [redacted](StoreUrl::redacted).
#[derive(Clone)]
pub struct StoreUrl(SecretString);

impl StoreUrl {
    /// Refuses what `Store::connect` would refuse, without printing the URL.
    fn parse(url: SecretString) -> Result<Self, ConfigError> {
        let text = url.expose_secret();
        if text.trim().is_empty() {
            return Err(ConfigError::invalid("store.url", "must not be empty"));
        }
        if !(store::is_sqlite_url(text) || store::is_postgres_url(text)) {
            return Err(ConfigError::invalid(
                "store.url",
                format!(
                    "is not a store this service can open (expected sqlite://PATH, e.g. \
                     sqlite://data/competitor-sync.db, or postgres://USER@HOST/DATABASE): {}",
                    store::unsupported_scheme(text)
                ),
            ));
        }
        Ok(Self(url))
    }

    /// The URL as configured, for opening the store.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether it names a PostgreSQL database (else a SQLite file).
    pub fn is_postgres(&self) -> bool {
        store::is_postgres_url(self.expose())
    }

    /// The URL with any password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        redact(self.expose())
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreUrl").field(&self.redacted()).finish()
    }
}

/// `url` with the password of its user info, and the value of any query parameter whose
/// name mentions a password, replaced by `***`. A `sqlite:` URL names a file: unchanged.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    if scheme.eq_ignore_ascii_case("sqlite") {
        return url.to_owned();
    }
    // The last `@`, so that a password holding an unescaped `@` is hidden whole.
    let (user_info, location) = match rest.rsplit_once('@') {
        Some((user_info, location)) => (Some(user_info), location),
        None => (None, rest),
    };
    let location = match location.split_once('?') {
        Some((path, query)) => format!("{path}?{}", redact_query(query)),
        None => location.to_owned(),
    };
    match user_info {
        Some(user_info) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{location}"),
            None => format!("{scheme}://{user_info}@{location}"),
        },
        None => format!("{scheme}://{location}"),
    }
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.to_ascii_lowercase().contains("pass") => {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `[store]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    url: SecretString,
    max_queued: u64,
    notify: bool,
    max_connections: u32,
}

impl RawStore {
    pub(super) fn validate(self) -> Result<StoreSettings, ConfigError> {
        if self.max_queued == 0 {
            return Err(ConfigError::invalid("store.max_queued", "must be above 0"));
        }
        if self.max_connections < 2 {
            return Err(ConfigError::invalid(
                "store.max_connections",
                "must be at least 2 (webhooks and workers need a connection each)",
            ));
        }
        self.validate_url()
    }

    /// The URL alone, for commands that only read or tidy the store: they queue nothing,
    /// so `max_queued` is not theirs to refuse.
    pub(super) fn validate_url(self) -> Result<StoreSettings, ConfigError> {
        Ok(StoreSettings {
            url: StoreUrl::parse(self.url)?,
            max_queued: self.max_queued,
            notify: self.notify,
            max_connections: self.max_connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> StoreUrl {
        StoreUrl(SecretString::from(text))
    }

    #[test]
    fn postgres_urls_are_told_from_sqlite_ones() {
        assert!(url("postgres://sync@db/jobs").is_postgres());
        assert!(url("postgresql://sync@db/jobs").is_postgres());
        assert!(!url("sqlite://data/competitor-sync.db").is_postgres());
        assert!(!url("sqlite::memory:").is_postgres());
    }

    #[test]
    fn a_password_is_hidden_from_debug_and_messages() {
        let postgres = url("postgres://sync:hunter2@db.internal:5432/jobs");
        assert_eq!(
            postgres.redacted(),
            "postgres://sync:***@db.internal:5432/jobs"
        );
        assert_eq!(
            format!("{postgres:?}"),
            r#"StoreUrl("postgres://sync:***@db.internal:5432/jobs")"#
        );
        assert_eq!(
            postgres.expose(),
            "postgres://sync:hunter2@db.internal:5432/jobs"
        );

        let tricky = url("mysql://sync:p@ss:w/rd@db/jobs?sslmode=require&password=other");
        assert_eq!(
            tricky.redacted(),
            "mysql://sync:***@db/jobs?sslmode=require&password=***"
        );
        assert_eq!(url("postgres://db/jobs").redacted(), "postgres://db/jobs");
        assert_eq!(
            url("postgres://sync@db/jobs").redacted(),
            "postgres://sync@db/jobs"
        );
    }

    #[test]
    fn a_postgres_url_is_accepted_and_shown_without_its_password() {
        for text in [
            "postgres://sync:hunter2@db/jobs",
            "postgresql://db/jobs?sslmode=require",
        ] {
            let parsed = StoreUrl::parse(SecretString::from(text)).expect("a PostgreSQL URL");
            assert_eq!(parsed.expose(), text);
            assert!(!parsed.redacted().contains("hunter2"));
        }
    }

    #[test]
    fn a_sqlite_path_is_shown_unchanged() {
        for text in [
            "sqlite://data/competitor-sync.db",
            "sqlite:///var/lib/sync/a:b@c.db?mode=rwc",
            "sqlite:jobs.db",
        ] {
            let parsed = StoreUrl::parse(SecretString::from(text)).expect("a sqlite URL");
            assert_eq!(parsed.redacted(), text);
            assert_eq!(parsed.expose(), text);
            assert_eq!(format!("{parsed:?}"), format!("StoreUrl({text:?})"));
        }
    }

    #[test]
    fn another_scheme_is_refused_naming_the_key_not_the_password() {
        for (text, problem) in [
            (
                "mysql://sync:hunter2@db/jobs",
                "the scheme `mysql` is not supported",
            ),
            ("sync:hunter2@db/jobs", "it has no scheme"),
            ("hunter2@x://db/jobs", "it has no scheme"),
        ] {
            let message = StoreUrl::parse(SecretString::from(text))
                .expect_err("not a store this build opens")
                .to_string();
            assert!(message.contains("store.url"), "{message}");
            assert!(message.contains(problem), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let message = StoreUrl::parse(SecretString::from("  "))
            .expect_err("empty")
            .to_string();
        assert!(message.contains("store.url"), "{message}");
        assert!(message.contains("must not be empty"), "{message}");
    }
}
