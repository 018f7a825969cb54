//! Configuration errors name the key, where it was set and what was expected, and never
//! print a configured value: any of them may be a secret. The `config` crate's own messages
//! (and the TOML parser's Display) quote the offending value or line, so its errors are
//! rebuilt here from their parts, and any free text left is scrubbed of configured values.

use std::fmt;

use super::sources::Sources;

/// Stands in for a configured value that reached an error message's free text.
const PLACEHOLDER: &str = "<redacted>";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the TOML in {file} is not valid at line {line}, column {column}{}: {problem}",
        on_key(key.as_deref())
    )]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        /// The key set on that line, when the parser got that far.
        key: Option<String>,
        problem: String,
    },
    #[error("invalid configuration: `{key}` {origin}: {problem}")]
    Value {
        key: String,
        origin: Origin,
        problem: String,
    },
    /// A `config` crate error that names no key, with every configured value taken out.
    #[error("could not load configuration: {0}")]
    Load(String),
    #[error("invalid configuration: `{key}` {problem}")]
    Invalid { key: String, problem: String },
}

fn on_key(key: Option<&str>) -> String {
    key.map(|key| format!(" (key `{key}`)")).unwrap_or_default()
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// Where the value of a key came from; later sources override earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Defaults,
    File { name: String, line: usize },
    Variable(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Defaults => f.write_str("(built-in default)"),
            Self::File { name, line } => write!(f, "(set in {name} at line {line})"),
            Self::Variable(name) => write!(f, "(set by the environment variable {name})"),
        }
    }
}

impl Sources {
    /// Rebuilds an error of the `config` crate (from merging the sources or deserializing
    /// them) without the value it quotes.
    pub(super) fn explain(&self, error: config::ConfigError) -> ConfigError {
        match error {
            // `unexpected` renders the value itself: only its kind is kept.
            config::ConfigError::Type {
                unexpected,
                expected,
                key,
                ..
            } => {
                let found = kind_of(&unexpected.to_string());
                self.located(key, format!("expected {expected}, found {found}"))
            }
            config::ConfigError::At { error, key, .. } => {
                self.located(key, self.redact(&error.to_string()))
            }
            config::ConfigError::NotFound(key) => ConfigError::invalid(key, "is missing"),
            // The defaults always parse, and the file's syntax was checked on reading: what
            // is left is a number the crate cannot hold.
            config::ConfigError::FileParse { cause, .. } => ConfigError::Load(format!(
                "the TOML in {} is not valid: {}",
                self.file_name().unwrap_or("the configuration file"),
                self.redact(&cause.to_string())
            )),
            other => self.located(None, self.redact(&other.to_string())),
        }
    }

    /// A validation error, told where its key was set when that was not the defaults.
    pub(super) fn locate(&self, error: ConfigError) -> ConfigError {
        match error {
            ConfigError::Invalid { key, problem } => match self.origin_of(&key) {
                Origin::Defaults => ConfigError::Invalid { key, problem },
                origin => ConfigError::Value {
                    key,
                    origin,
                    problem,
                },
            },
            other => other,
        }
    }

    /// An error about `key`, or about the field serde's "unknown field" names below it.
    fn located(&self, key: Option<String>, problem: String) -> ConfigError {
        let key = match (key.as_deref().map(dotted), unknown_field(&problem)) {
            (Some(key), Some(field)) => Some(format!("{key}.{field}")),
            (None, field) => field.map(str::to_owned),
            (key, None) => key,
        };
        match key {
            Some(key) => ConfigError::Value {
                origin: self.origin_of(&key),
                key,
                problem,
            },
            None => ConfigError::Load(problem),
        }
    }

    /// Free text from a deserializer with the values it quotes replaced: serde's renderings
    /// of a value first, then, should a message quote one some other way, every value read
    /// from the file or the environment.
    pub(super) fn redact(&self, text: &str) -> String {
        redact_values(&hide_quoted_values(text), self.values())
    }
}

/// The kind of value in the `config` crate's rendering of an unexpected value (`string "…"`,
/// `64-bit integer `…``, `boolean `…``): a fixed phrase, never text taken from it.
fn kind_of(unexpected: &str) -> &'static str {
    const KINDS: [(&str, &str); 8] = [
        ("string ", "a string"),
        ("boolean ", "a boolean"),
        ("64-bit ", "an integer"),
        ("128-bit ", "an integer"),
        ("floating point ", "a number"),
        ("unit value", "no value"),
        ("sequence", "a list"),
        ("map", "a table"),
    ];
    KINDS
        .iter()
        .find(|(prefix, _)| unexpected.starts_with(prefix))
        .map_or("a value of another type", |(_, kind)| kind)
}

/// `rules[0]mode`, as the `config` crate joins an index and a field, as `rules[0].mode`.
fn dotted(key: &str) -> String {
    let mut dotted = String::with_capacity(key.len() + 1);
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        dotted.push(c);
        if c == ']' && chars.peek().is_some_and(|next| !matches!(next, '[' | '.')) {
            dotted.push('.');
        }
    }
    dotted
}

/// The field named by serde's "unknown field `name`, expected …".
fn unknown_field(problem: &str) -> Option<&str> {
    let rest = problem.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// serde's renderings of an unexpected value (`serde::de::Unexpected`), which quote it, and
/// what replaces each: `invalid value: string "…", expected a duration` becomes
/// `invalid value: a string, expected a duration`.
const QUOTED_VALUES: [(&str, char, &str); 5] = [
    ("string \"", '"', "a string"),
    ("character `", '`', "a character"),
    ("boolean `", '`', "a boolean"),
    ("floating point `", '`', "a number"),
    ("integer `", '`', "an integer"),
];

/// The `config` crate's message for a string matching no variant of an enum, which ends
/// with the string.
const NO_VARIANT: &str = " does not have variant constructor ";

fn hide_quoted_values(text: &str) -> String {
    if text.starts_with("enum ") && text.contains(NO_VARIANT) {
        return "is not one of the accepted values (config/default.toml lists them)".into();
    }
    let mut hidden = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, opening, close, kind)) = QUOTED_VALUES
        .iter()
        .filter_map(|&(opening, close, kind)| {
            rest.find(opening).map(|at| (at, opening, close, kind))
        })
        .min_by_key(|&(at, ..)| at)
    {
        hidden.push_str(&rest[..at]);
        hidden.push_str(kind);
        let value = &rest[at + opening.len()..];
        rest = &value[end_of_quoted(value, close)..];
    }
    hidden.push_str(rest);
    hidden
}

/// Where a quoted value ends: just past its closing `close` (strings are rendered with
/// `{:?}`, so a `"` inside one is escaped), or the end of the text if it is not closed.
fn end_of_quoted(value: &str, close: char) -> usize {
    let mut chars = value.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '\\' && close == '"' {
            chars.next();
        } else if c == close {
            return at + c.len_utf8();
        }
    }
    value.len()
}

/// Values shorter than this are left alone: `true`, `1s` or `0` are not secrets, and
/// replacing them would garble the words around them.
const MIN_REDACTED_CHARS: usize = 4;

/// `text` with every occurrence of `values` (as given, lowercased as the `config` crate
/// compares them, and escaped as `{:?}` renders them) replaced by a placeholder.
pub(super) fn redact_values<'a>(text: &str, values: impl Iterator<Item = &'a str>) -> String {
    let mut forms: Vec<String> = values
        .filter(|value| value.chars().count() >= MIN_REDACTED_CHARS)
        .flat_map(|value| {
            let debug = format!("{value:?}");
            let escaped = debug
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(&debug)
                .to_owned();
            [value.to_owned(), value.to_lowercase(), escaped]
        })
        .collect();
    // Longest first, so no part of a long value is left behind after a shorter one inside it.
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    forms.iter().fold(text.to_owned(), |text, form| {
        text.replace(form, PLACEHOLDER)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_replaced_by_their_kind() {
        assert_eq!(
            hide_quoted_values(r#"invalid value: string "a \"b\" c", expected a duration"#),
            "invalid value: a string, expected a duration"
        );
        assert_eq!(
            hide_quoted_values("invalid type: integer `42`, expected a string"),
            "invalid type: an integer, expected a string"
        );
        assert_eq!(
            hide_quoted_values(r#"invalid value: string "never closed"#),
            "invalid value: a string"
        );
        assert_eq!(
            hide_quoted_values("unknown field `acess_key`, expected one of `access_key`"),
            "unknown field `acess_key`, expected one of `access_key`"
        );
    }

    #[test]
    fn configured_values_are_redacted_longest_first() {
        let text = redact_values(
            "bad Pass-Word-123 and pass-word-123 and \\\"q\\\" here, in 1s",
            ["Pass-Word-123", "word", "\"q\" here", "1s"].into_iter(),
        );
        assert_eq!(
            text, "bad <redacted> and <redacted> and <redacted>, in 1s",
            "{text}"
        );
    }

    #[test]
    fn an_index_and_a_field_are_joined_with_a_dot() {
        assert_eq!(dotted("sync.rules[0]mode"), "sync.rules[0].mode");
        assert_eq!(dotted("a[0][1].b"), "a[0][1].b");
        assert_eq!(dotted("webhook.token"), "webhook.token");
    }

    #[test]
    fn unexpected_values_are_described_by_kind_only() {
        assert_eq!(kind_of(r#"string "boolean `x`""#), "a string");
        assert_eq!(kind_of("64-bit integer `12`"), "an integer");
        assert_eq!(kind_of("something new `x`"), "a value of another type");
    }
}
