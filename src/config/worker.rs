//! `[worker]` and `[retry]`: how jobs are taken, and how often a failing one is tried again.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

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

impl WorkerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 {
            return Err(ConfigError::invalid(
                "worker.concurrency",
                "must be at least 1",
            ));
        }
        if self.lease < Duration::from_secs(10) {
            return Err(ConfigError::invalid(
                "worker.lease",
                "must be at least 10s: a shorter lease lets a second worker take a job still running",
            ));
        }
        Ok(())
    }
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

impl RetrySettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::invalid(
                "retry.max_attempts",
                "must be at least 1",
            ));
        }
        if self.base_delay > self.max_delay {
            return Err(ConfigError::invalid(
                "retry.base_delay",
                "must not be longer than retry.max_delay",
            ));
        }
        Ok(())
    }
}
