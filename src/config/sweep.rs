//! `[sweep]`: the catch-up sweep that finds calls whose webhook never came.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// `[sweep]`, validated.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    pub enabled: bool,
    pub interval: Duration,
    pub lookback: Duration,
    pub min_age: Duration,
    /// Gong's `filter.workspaceId`, as the automation rule filters.
    pub workspace_id: Option<String>,
    /// Only calls of this scope (`External`, `Internal`, `Unknown`), compared
    /// case-insensitively with Gong's `metaData.scope`.
    pub scope: Option<String>,
    /// Only calls at least this long (`metaData.duration`).
    pub min_duration: Option<Duration>,
    /// Gong requests of the day left to webhooks: the sweep stops below this many.
    pub reserve: u32,
}

/// `[sweep]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSweep {
    enabled: bool,
    #[serde(with = "humantime_serde")]
    interval: Duration,
    #[serde(with = "humantime_serde")]
    lookback: Duration,
    #[serde(with = "humantime_serde")]
    min_age: Duration,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default, with = "humantime_serde")]
    min_duration: Option<Duration>,
    /// A number of requests, or a share of `gong.daily_limit` such as `"20%"`.
    reserve: String,
}

impl RawSweep {
    pub(super) fn validate(self, daily_limit: u32) -> Result<SweepSettings, ConfigError> {
        if self.interval < Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                "sweep.interval",
                "must be at least 1s",
            ));
        }
        if self.lookback <= self.min_age {
            return Err(ConfigError::invalid(
                "sweep.lookback",
                "must be longer than sweep.min_age: the sweep lists calls between the two",
            ));
        }
        if let Some(scope) = &self.scope {
            if !["external", "internal", "unknown"].contains(&scope.to_ascii_lowercase().as_str()) {
                return Err(ConfigError::invalid(
                    "sweep.scope",
                    "must be External, Internal or Unknown, as Gong's calls have it",
                ));
            }
        }
        Ok(SweepSettings {
            enabled: self.enabled,
            interval: self.interval,
            lookback: self.lookback,
            min_age: self.min_age,
            workspace_id: self.workspace_id.filter(|id| !id.trim().is_empty()),
            scope: self.scope,
            min_duration: self.min_duration,
            reserve: reserve(&self.reserve, daily_limit)?,
        })
    }
}

/// `"20%"` of `daily_limit`, or a number of requests.
fn reserve(text: &str, daily_limit: u32) -> Result<u32, ConfigError> {
    let invalid = || {
        ConfigError::invalid(
            "sweep.reserve",
            "must be a share of gong.daily_limit such as \"20%\", or a number of requests \
             up to gong.daily_limit",
        )
    };
    let text = text.trim();
    let requests = match text.strip_suffix('%') {
        Some(percent) => {
            let percent: f64 = percent.trim().parse().map_err(|_| invalid())?;
            if !(0.0..=100.0).contains(&percent) {
                return Err(invalid());
            }
            (f64::from(daily_limit) * percent / 100.0).round() as u32
        }
        None => text.parse().map_err(|_| invalid())?,
    };
    if requests > daily_limit {
        return Err(invalid());
    }
    Ok(requests)
}

#[cfg(test)]
mod tests {
    use super::reserve;

    #[test]
    fn the_reserve_is_a_share_or_a_number() {
        assert_eq!(reserve("20%", 10_000).ok(), Some(2_000));
        assert_eq!(reserve(" 2.5 % ", 10_000).ok(), Some(250));
        assert_eq!(reserve("300", 10_000).ok(), Some(300));
        for bad in ["120%", "-1", "lots", "20000"] {
            let message = reserve(bad, 10_000).expect_err(bad).to_string();
            assert!(message.contains("sweep.reserve"), "{message}");
        }
    }
}
