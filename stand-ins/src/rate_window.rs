//! Gong's documented limit of a few requests per second, as a sliding one-second window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const PERIOD: Duration = Duration::from_secs(1);

pub struct RateWindow {
    limit: usize,
    /// When the requests of the last period were admitted, oldest first.
    admitted: VecDeque<Instant>,
}

impl RateWindow {
    pub fn per_second(limit: u32) -> Self {
        Self {
            limit: usize::try_from(limit.max(1)).unwrap_or(usize::MAX),
            admitted: VecDeque::new(),
        }
    }

    /// Admits a request arriving at `now`, or tells how long until one would be admitted.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        while self
            .admitted
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= PERIOD)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() < self.limit {
            self.admitted.push_back(now);
            return Ok(());
        }
        let oldest = self.admitted.front().copied().unwrap_or(now);
        Err(PERIOD.saturating_sub(now.saturating_duration_since(oldest)))
    }
}

/// `Retry-After` carries whole seconds: the wait rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fourth_request_within_a_second_is_refused_until_the_first_leaves_the_window() {
        let start = Instant::now();
        let mut window = RateWindow::per_second(3);
        for offset in [0, 100, 200] {
            assert_eq!(window.admit(start + Duration::from_millis(offset)), Ok(()));
        }
        let wait = window
            .admit(start + Duration::from_millis(300))
            .expect_err("a fourth request in the same second");
        assert_eq!(wait, Duration::from_millis(700));
        assert_eq!(retry_after_secs(wait), 1);
        // Refused requests take no slot: at 1s the first one has left the window.
        assert_eq!(window.admit(start + Duration::from_millis(1000)), Ok(()));
        assert!(window.admit(start + Duration::from_millis(1050)).is_err());
        assert_eq!(window.admit(start + Duration::from_millis(1100)), Ok(()));
    }

    #[test]
    fn evenly_spaced_requests_at_the_limit_are_never_refused() {
        let start = Instant::now();
        let mut window = RateWindow::per_second(3);
        for n in 0..30 {
            assert_eq!(window.admit(start + Duration::from_millis(n * 334)), Ok(()));
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
    }
}
