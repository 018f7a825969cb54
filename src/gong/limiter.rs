//! One gate for every Gong request in the process: Gong allows about 3 requests per second
//! and 10,000 per day per company, and answers 429 with `Retry-After` beyond that.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

pub struct GongLimiter {
    /// Requests evenly spaced (no burst), so no one-second window holds more than the rate.
    per_second: DefaultDirectRateLimiter,
    /// The daily allowance, refilled continuously over 24 hours.
    per_day: DefaultDirectRateLimiter,
    /// Set from a 429's `Retry-After`: nobody sends before then.
    blocked_until: Mutex<Option<Instant>>,
}

impl GongLimiter {
    pub fn new(requests_per_second: NonZeroU32, daily_limit: NonZeroU32) -> Self {
        // A few milliseconds over the exact spacing: network jitter must not bunch requests
        // into one of Gong's one-second windows.
        let spacing = Duration::from_secs(1) / requests_per_second.get() + Duration::from_millis(5);
        let per_second = Quota::with_period(spacing)
            .unwrap_or_else(|| Quota::per_second(requests_per_second))
            .allow_burst(NonZeroU32::MIN);
        let refill = Duration::from_secs(24 * 60 * 60) / daily_limit.get();
        let per_day = Quota::with_period(refill)
            .unwrap_or_else(|| Quota::per_hour(daily_limit))
            .allow_burst(daily_limit);
        Self {
            per_second: RateLimiter::direct(per_second),
            per_day: RateLimiter::direct(per_day),
            blocked_until: Mutex::new(None),
        }
    }

    /// Waits until one more request may be sent.
    pub async fn acquire(&self) {
        loop {
            let blocked = self.blocked_until.lock().ok().and_then(|guard| *guard);
            match blocked {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        self.per_day.until_ready().await;
        self.per_second.until_ready().await;
    }

    /// Gong said 429: hold every request for `retry_after` (or a second when it gave none).
    pub fn back_off(&self, retry_after: Option<Duration>) {
        let until = Instant::now() + retry_after.unwrap_or(Duration::from_secs(1));
        if let Ok(mut guard) = self.blocked_until.lock() {
            *guard = Some(guard.map_or(until, |current| current.max(until)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32) -> GongLimiter {
        GongLimiter::new(
            NonZeroU32::new(per_second).expect("non-zero"),
            NonZeroU32::new(10_000).expect("non-zero"),
        )
    }

    #[tokio::test]
    async fn requests_are_spaced_to_the_rate() {
        let limiter = limiter(3);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..7 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for window in times.windows(4) {
            assert!(
                window[3] - window[0] >= Duration::from_millis(999),
                "{times:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_429_holds_every_request_for_its_retry_after() {
        let limiter = limiter(3);
        limiter.acquire().await;
        let start = Instant::now();
        limiter.back_off(Some(Duration::from_secs(1)));
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
