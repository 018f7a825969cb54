//! Salesforce's daily API limit: the usage every response reports, and the pause taken when
//! the limit is exhausted.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

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

/// When Salesforce says the org's API requests are used up (`REQUEST_LIMIT_EXCEEDED`), all
/// Salesforce work stops for a while rather than retrying into the limit.
#[derive(Debug, Default)]
pub struct LimitPause {
    state: Mutex<Option<PauseState>>,
}

#[derive(Debug, Clone)]
struct PauseState {
    until: Instant,
    until_wall: SystemTime,
    reason: String,
}

/// An active pause, for readiness and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePause {
    pub remaining: Duration,
    pub until: SystemTime,
    pub reason: String,
}

impl LimitPause {
    pub fn start(&self, length: Duration, reason: String) {
        let state = PauseState {
            until: Instant::now() + length,
            until_wall: SystemTime::now() + length,
            reason,
        };
        if let Ok(mut guard) = self.state.lock() {
            *guard = Some(state);
        }
        telemetry::salesforce_paused(true);
    }

    /// The pause in force, if any. An expired pause ends here.
    pub fn active(&self) -> Option<ActivePause> {
        let mut guard = self.state.lock().ok()?;
        let state = guard.as_ref()?;
        let now = Instant::now();
        if state.until <= now {
            *guard = None;
            telemetry::salesforce_paused(false);
            return None;
        }
        Some(ActivePause {
            remaining: state.until - now,
            until: state.until_wall,
            reason: state.reason.clone(),
        })
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

    #[test]
    fn a_pause_ends_by_itself() {
        let pause = LimitPause::default();
        assert!(pause.active().is_none());
        pause.start(Duration::from_secs(60), "limit".into());
        let active = pause.active().expect("paused");
        assert_eq!(active.reason, "limit");
        assert!(active.remaining <= Duration::from_secs(60));
        pause.start(Duration::ZERO, "limit".into());
        assert!(pause.active().is_none());
    }
}
