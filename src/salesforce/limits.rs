//! Salesforce's daily API limit: the usage every response reports, and the pause taken when
//! the limit is exhausted.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::shared::{ActivePause, SharedLimits, SALESFORCE_PAUSE};
use crate::telemetry;

/// Org API usage as reported by `Sforce-Limit-Info: api-usage=10018/100000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Parses the header leniently: parts are `;`-separated `key=value`, in any order.
    pub fn parse(header: &str) -> Option<Self> {
        header.split([';', ',']).find_map(|part| {
            let (key, value) = part.split_once('=')?;
            if !key.trim().eq_ignore_ascii_case("api-usage") {
                return None;
            }
            let (used, max) = value.trim().split_once('/')?;
            Some(Self {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }
}

/// The Salesforce pause as every process sees it: kept in the shared state (so one process
/// meeting `REQUEST_LIMIT_EXCEEDED` pauses them all), read from there at most once a second.
pub struct PauseGate {
    shared: Arc<dyn SharedLimits>,
    /// The last reading, and when it was taken.
    seen: Mutex<Option<(Instant, Option<ActivePause>)>>,
}

/// How long a reading of the shared pause is trusted.
const FRESH_FOR: Duration = Duration::from_secs(1);

impl PauseGate {
    pub fn new(shared: Arc<dyn SharedLimits>) -> Self {
        Self {
            shared,
            seen: Mutex::new(None),
        }
    }

    /// The pause in force, if any. While the shared state cannot be read, work goes on:
    /// Salesforce itself refuses again if its limit still holds.
    pub async fn active(&self) -> Option<ActivePause> {
        if let Some(seen) = self.remembered() {
            return seen;
        }
        let read = match self.shared.active_pause(SALESFORCE_PAUSE).await {
            Ok(pause) => pause,
            Err(error) => {
                tracing::warn!(%error, "cannot read the shared Salesforce pause");
                None
            }
        };
        telemetry::salesforce_paused(read.is_some());
        self.remember(read.clone());
        read
    }

    /// Pauses all Salesforce work, of every process, for `length`.
    pub async fn start(&self, length: Duration, reason: String) {
        if let Err(error) = self
            .shared
            .start_pause(SALESFORCE_PAUSE, length, reason.clone())
            .await
        {
            tracing::warn!(%error, "cannot share the Salesforce pause; pausing this process only");
        }
        let until = time::OffsetDateTime::now_utc() + length;
        let until_unix_ms =
            i64::try_from(until.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        self.remember(Some(ActivePause {
            remaining: length,
            until_unix_ms,
            reason,
        }));
        telemetry::salesforce_paused(true);
    }

    fn remembered(&self) -> Option<Option<ActivePause>> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, pause) = seen.as_ref()?;
        let age = at.elapsed();
        if age >= FRESH_FOR {
            return None;
        }
        Some(pause.as_ref().and_then(|pause| {
            let remaining = pause.remaining.checked_sub(age)?;
            Some(ActivePause {
                remaining,
                ..pause.clone()
            })
        }))
    }

    fn remember(&self, pause: Option<ActivePause>) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), pause));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_header_is_parsed_leniently() {
        let usage = |h| ApiUsage::parse(h);
        assert_eq!(
            usage("api-usage=10018/100000"),
            Some(ApiUsage {
                used: 10018,
                max: 100000
            })
        );
        assert_eq!(
            usage("per-app-api-usage=17/250(appName=sample); api-usage=25/5000"),
            Some(ApiUsage {
                used: 25,
                max: 5000
            })
        );
        assert_eq!(
            usage(" API-USAGE = 1 / 2 "),
            Some(ApiUsage { used: 1, max: 2 })
        );
        assert_eq!(usage("api-usage=lots"), None);
        assert_eq!(usage(""), None);
    }
}
