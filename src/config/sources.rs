//! The `--config` file and the `COMPETITOR_SYNC__*` variables, read once and kept so an
//! error can say where a key was set and leave out every value they hold.

use std::collections::HashMap;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::errors::{redact_values, ConfigError, Origin};
use super::{DEFAULTS, ENV_PREFIX};

pub(super) struct Sources {
    file: Option<ConfigFile>,
    /// `COMPETITOR_SYNC__*` variables by name.
    env: HashMap<String, String>,
}

struct ConfigFile {
    /// The path as the operator gave it.
    name: String,
    text: String,
    keys: Keys,
}

/// Every key a TOML document sets (tables too, array items as `rules[0]`) with its line,
/// and every leaf value.
#[derive(Default)]
struct Keys {
    lines: HashMap<String, usize>,
    values: Vec<String>,
}

impl Sources {
    /// Reads `file` and the variables (`env`, or the process environment), refusing a file
    /// that is not valid TOML.
    pub(super) fn read(
        file: Option<&Path>,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let file = file.map(ConfigFile::read).transpose()?;
        let env = match env {
            Some(vars) => vars
                .into_iter()
                .filter(|(name, _)| variable_key(name).is_some())
                .collect(),
            None => process_environment()?,
        };
        Ok(Self { file, env })
    }

    /// The defaults, then the file, then the variables, as the `config` crate merges them.
    pub(super) fn builder(&self) -> config::ConfigBuilder<config::builder::DefaultState> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(file) = &self.file {
            builder =
                builder.add_source(config::File::from_str(&file.text, config::FileFormat::Toml));
        }
        builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(self.env.clone())),
        )
    }

    pub(super) fn file_name(&self) -> Option<&str> {
        self.file.as_ref().map(|file| file.name.as_str())
    }

    /// The file's name if it sets `key`.
    pub(super) fn file_setting(&self, key: &str) -> Option<&str> {
        self.file
            .as_ref()
            .filter(|file| file.keys.lines.contains_key(key))
            .map(|file| file.name.as_str())
    }

    /// The last source to set `key`: a variable overrides the file, which overrides the
    /// defaults.
    pub(super) fn origin_of(&self, key: &str) -> Origin {
        let variable = self
            .env
            .keys()
            .filter(|name| variable_key(name).as_deref() == Some(key))
            .min();
        if let Some(name) = variable {
            return Origin::Variable(name.clone());
        }
        self.file
            .as_ref()
            .and_then(|file| {
                file.keys.lines.get(key).map(|&line| Origin::File {
                    name: file.name.clone(),
                    line,
                })
            })
            .unwrap_or(Origin::Defaults)
    }

    /// Every value read from the file or the variables.
    pub(super) fn values(&self) -> impl Iterator<Item = &str> {
        let from_file = self.file.iter().flat_map(|file| &file.keys.values);
        from_file.chain(self.env.values()).map(String::as_str)
    }
}

impl ConfigFile {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let unreadable = |problem: String| {
            ConfigError::invalid(
                "--config",
                format!(
                    "names {}, which is not a readable file{problem}",
                    path.display()
                ),
            )
        };
        if !path.is_file() {
            return Err(unreadable(String::new()));
        }
        let bytes = std::fs::read(path).map_err(|error| unreadable(format!(": {error}")))?;
        // As the `config` crate reads a file: without a UTF-8 byte order mark, lossily.
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let text = String::from_utf8_lossy(bytes).into_owned();
        let name = path.display().to_string();
        let (table, errors) = DeTable::parse_recoverable(&text);
        let mut keys = Keys::default();
        keys.add_table(table.get_ref(), "", &text);
        if let Some(error) = errors.first() {
            return Err(syntax_error(&name, &text, &keys, error));
        }
        Ok(Self { name, text, keys })
    }
}

/// Where the document stops being TOML, and the key being set there if the parser recovered
/// it. Only the parser's description is used: its Display quotes the line.
fn syntax_error(name: &str, text: &str, keys: &Keys, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start);
    let (line, column) = line_and_column(text, offset);
    let key = keys
        .lines
        .iter()
        .filter(|&(_, &at)| at == line)
        .map(|(key, _)| key)
        .max_by_key(|key| (key.len(), key.as_str()))
        .cloned();
    // The line's value as written, in case the parser ever quotes it.
    let written = text
        .lines()
        .nth(line - 1)
        .map(|text| text.split_once('=').map_or(text, |(_, value)| value))
        .map(|value| value.trim().trim_matches(['"', '\'']));
    let values = keys.values.iter().map(String::as_str).chain(written);
    ConfigError::Syntax {
        file: name.to_owned(),
        line,
        column,
        key,
        problem: redact_values(error.message(), values),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let boundary = (0..=offset.min(text.len()))
        .rev()
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(0);
    let before = &text[..boundary];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.matches('\n').count() + 1;
    (line, before[line_start..].chars().count() + 1)
}

impl Keys {
    fn add_table(&mut self, table: &DeTable<'_>, prefix: &str, text: &str) {
        for (key, value) in table {
            let name = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            self.add(name, key.span().start, value, text);
        }
    }

    fn add(&mut self, name: String, offset: usize, value: &Spanned<DeValue<'_>>, text: &str) {
        match value.get_ref() {
            DeValue::Table(table) => self.add_table(table, &name, text),
            DeValue::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.add(format!("{name}[{index}]"), item.span().start, item, text);
                }
            }
            DeValue::String(string) => self.values.push(string.to_string()),
            DeValue::Integer(integer) => self.values.push(integer.as_str().to_owned()),
            DeValue::Float(float) => self.values.push(float.as_str().to_owned()),
            DeValue::Datetime(datetime) => self.values.push(datetime.to_string()),
            DeValue::Boolean(_) => {}
        }
        self.lines.insert(name, line_and_column(text, offset).0);
    }
}

/// The `COMPETITOR_SYNC__*` variables of this process.
fn process_environment() -> Result<HashMap<String, String>, ConfigError> {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            // The `config` crate skips names that are not Unicode.
            let name = name.into_string().ok()?;
            let key = variable_key(&name)?;
            Some(match value.into_string() {
                Ok(value) => Ok((name, value)),
                Err(_) => Err(ConfigError::Value {
                    key,
                    origin: Origin::Variable(name),
                    problem: "is not valid UTF-8".into(),
                }),
            })
        })
        .collect()
}

/// The key a `COMPETITOR_SYNC__SECTION__KEY` variable sets, read as the `config` crate reads
/// it (names are not case-sensitive).
fn variable_key(name: &str) -> Option<String> {
    let prefix = format!("{}__", ENV_PREFIX.to_lowercase());
    let name = name.to_lowercase();
    name.strip_prefix(&prefix).map(|key| key.replace("__", "."))
}
