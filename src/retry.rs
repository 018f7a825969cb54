//! What to do after a failed attempt: retry later or give up, and when "later" is.

use std::time::Duration;

use rand::Rng;

use crate::config::RetrySettings;

/// How an upstream failure affects the job that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Transient: try again, no sooner than `after` when the upstream said so.
    Retry { after: Option<Duration> },
    /// Retrying cannot help (bad id, bad configuration): the job fails now.
    Permanent,
    /// The upstream asked for a pause that is not this job's fault (Salesforce's daily API
    /// limit): try again after `after` without spending one of the job's attempts.
    Defer { after: Duration },
}

/// Errors that know whether retrying can help.
pub trait Classify {
    fn disposition(&self) -> Disposition;
}

/// The random factor (±20%) that spreads retries. One is drawn per batch: jobs that failed
/// together come back together and share requests again, while separate batches spread.
#[derive(Debug, Clone, Copy)]
pub struct Jitter(f64);

impl Jitter {
    pub fn draw() -> Self {
        Self(rand::rng().random_range(0.8..=1.2))
    }
}

/// Delay before attempt `attempt + 1`, after `attempt` (1-based) attempts failed: the base
/// delay doubled per attempt, capped, times `jitter`, so a burst of failed batches does not
/// come back as one burst. An upstream `Retry-After` wins when it is longer.
pub fn backoff(
    settings: &RetrySettings,
    attempt: u32,
    upstream_hint: Option<Duration>,
    jitter: Jitter,
) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let raw = settings
        .base_delay
        .saturating_mul(1u32 << exponent)
        .min(settings.max_delay);
    let delay = raw.mul_f64(jitter.0).min(settings.max_delay);
    upstream_hint.map_or(delay, |hint| delay.max(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[retry]` section of the shipped `config/default.toml`.
    fn settings() -> RetrySettings {
        config::Config::builder()
            .add_source(config::File::from_str(
                crate::config::DEFAULTS,
                config::FileFormat::Toml,
            ))
            .build()
            .and_then(|c| c.get("retry"))
            .expect("default.toml has a valid [retry] section")
    }

    #[test]
    fn delays_double_within_jitter_and_stop_at_the_cap() {
        let s = settings();
        for (attempt, nominal) in [(1u32, 10.0), (2, 20.0), (3, 40.0), (7, 640.0)] {
            let d = backoff(&s, attempt, None, Jitter::draw()).as_secs_f64();
            assert!(
                d >= nominal * 0.8 && d <= nominal * 1.2,
                "attempt {attempt}: {d}"
            );
        }
        for attempt in [8, 15, 1000] {
            let d = backoff(&s, attempt, None, Jitter::draw());
            assert!(d <= s.max_delay && d >= s.max_delay.mul_f64(0.8), "{d:?}");
        }
    }

    #[test]
    fn default_schedule_outlasts_a_one_hour_outage() {
        let s = settings();
        let shortest_total: f64 = (1..s.max_attempts)
            .map(|attempt| {
                let doubled = s.base_delay.as_secs_f64() * 2f64.powi(attempt as i32 - 1);
                doubled.min(s.max_delay.as_secs_f64()) * 0.8
            })
            .sum();
        assert!(shortest_total > 3600.0, "{shortest_total}");
    }

    #[test]
    fn one_jitter_gives_jobs_with_the_same_attempts_the_same_delay() {
        let s = settings();
        let jitter = Jitter::draw();
        assert_eq!(backoff(&s, 3, None, jitter), backoff(&s, 3, None, jitter));
    }

    #[test]
    fn a_longer_retry_after_wins() {
        let s = settings();
        let d = backoff(&s, 1, Some(Duration::from_secs(120)), Jitter::draw());
        assert_eq!(d, Duration::from_secs(120));
        let d = backoff(&s, 1, Some(Duration::from_millis(1)), Jitter::draw());
        assert!(d >= Duration::from_secs(8));
    }
}
