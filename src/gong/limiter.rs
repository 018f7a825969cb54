//! One gate for every Gong request: Gong allows about 3 requests per second and 10,000 per
//! day per company, and answers 429 with `Retry-After` beyond that. With a store attached,
//! the gate is shared by every process using that store (the service and a backfill beside
//! it); without one (or while the store cannot be reached) it holds within the process.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

use crate::shared::{SharedLimits, Slot};

/// The name of Gong's allowance among those the store keeps for every process.
pub const SHARED_ALLOWANCE: &str = "gong";
const API: &str = SHARED_ALLOWANCE;

/// Extra spacing when slots come from the store: a slot is taken before the request leaves,
/// and the store's commit and the wake-up in between vary by some milliseconds under load.
const SHARED_MARGIN: Duration = Duration::from_millis(25);

/// How long before its slot a request reads the shared hold.
const HOLD_CHECK_LEAD: Duration = Duration::from_millis(30);

pub struct GongLimiter {
    /// Requests evenly spaced (no burst), so no one-second window holds more than the rate.
    per_second: DefaultDirectRateLimiter,
    /// The daily allowance, refilled continuously over 24 hours.
    per_day: DefaultDirectRateLimiter,
    /// Set from a 429's `Retry-After`: nobody sends before then.
    blocked_until: Mutex<Option<Instant>>,
    /// When this process's last request was let through: the next slot follows it.
    last_slot: Mutex<Option<Instant>>,
    spacing: Duration,
    daily_limit: NonZeroU32,
    shared: Option<Arc<dyn SharedLimits>>,
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
            last_slot: Mutex::new(None),
            spacing,
            daily_limit,
            shared: None,
        }
    }

    /// Shares the allowance with every process using `shared`.
    pub fn shared_through(mut self, shared: Arc<dyn SharedLimits>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Waits until one more request may be sent. A 429 that comes back while this request
    /// waits for its slot holds it too: a slot taken before the hold is given up, and a new
    /// one taken after it.
    pub async fn acquire(&self) {
        loop {
            self.wait_for_local_hold().await;
            let slot = self.take_slot().await;
            // The reservation came after any shared hold in force when it was taken, so a
            // slot due at once needs no second read (a lone call's path stays one round
            // trip). A slot further off reads the hold again just before it, for a 429 that
            // came meanwhile, early enough that the read does not delay the request (and
            // bunch it with the next one); this process's hold is checked at the slot.
            let check_at = slot.checked_sub(HOLD_CHECK_LEAD).unwrap_or(slot);
            let held_elsewhere = if check_at > Instant::now() {
                tokio::time::sleep_until(check_at).await;
                self.shared_hold().await
            } else {
                false
            };
            tokio::time::sleep_until(slot).await;
            // A request woken late (a busy machine) must not bunch up with the next one: this
            // process's own requests also keep the spacing between their actual sends.
            self.per_second.until_ready().await;
            if !held_elsewhere && self.local_hold().is_none() {
                if let Ok(mut last) = self.last_slot.lock() {
                    *last = Some(Instant::now());
                }
                return;
            }
        }
    }

    /// How long until a request could be let through at once, as far as this process knows
    /// (another process sharing the allowance may have taken the next slot): zero when its
    /// last request was a slot ago and no 429 holds requests.
    pub fn next_slot_in(&self) -> Duration {
        let margin = if self.shared.is_some() {
            SHARED_MARGIN
        } else {
            Duration::ZERO
        };
        let after_last = self
            .last_slot
            .lock()
            .ok()
            .and_then(|last| *last)
            .map(|last| last + self.spacing + margin);
        let free_at = after_last.max(self.local_hold());
        free_at.map_or(Duration::ZERO, |at| {
            at.saturating_duration_since(Instant::now())
        })
    }

    async fn wait_for_local_hold(&self) {
        while let Some(until) = self.local_hold() {
            tokio::time::sleep_until(until).await;
        }
    }

    /// The end of this process's hold, while it lasts.
    fn local_hold(&self) -> Option<Instant> {
        let blocked = self.blocked_until.lock().ok().and_then(|guard| *guard);
        blocked.filter(|until| *until > Instant::now())
    }

    /// Whether a 429's hold shared through the store is in force.
    async fn shared_hold(&self) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        match shared.requests_held_for(API).await {
            Ok(held) => held.is_some(),
            Err(error) => {
                tracing::warn!(%error, "cannot read the shared Gong hold from the store");
                false
            }
        }
    }

    /// Takes the next slot of the shared allowance (or this process's, without a store);
    /// returns when it is.
    async fn take_slot(&self) -> Instant {
        if let Some(shared) = &self.shared {
            loop {
                match shared
                    .reserve_request(API, self.spacing + SHARED_MARGIN, self.daily_limit.get())
                    .await
                {
                    Ok(Slot::In(wait)) => return Instant::now() + wait,
                    Ok(Slot::DayUsedUp { for_ }) => {
                        tracing::warn!(
                            daily_limit = self.daily_limit.get(),
                            "the day's Gong allowance (gong.daily_limit) is used up; waiting for the next UTC day"
                        );
                        tokio::time::sleep(for_).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot reach the shared Gong allowance in the store; spacing requests within this process");
                        break;
                    }
                }
            }
        }
        self.per_day.until_ready().await;
        Instant::now()
    }

    /// Gong said 429: hold every request for `retry_after` (or a second when it gave none).
    pub async fn back_off(&self, retry_after: Option<Duration>) {
        let wait = retry_after.unwrap_or(Duration::from_secs(1));
        let until = Instant::now() + wait;
        if let Ok(mut guard) = self.blocked_until.lock() {
            *guard = Some(guard.map_or(until, |current| current.max(until)));
        }
        if let Some(shared) = &self.shared {
            if let Err(error) = shared.hold_requests(API, wait).await {
                tracing::warn!(%error, "cannot share Gong's Retry-After through the store");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::shared::{ActivePause, BoxFuture, SharedError};

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
    async fn the_next_slot_is_free_at_once_until_a_request_takes_it() {
        let limiter = limiter(3);
        assert_eq!(limiter.next_slot_in(), Duration::ZERO, "nothing sent yet");
        limiter.acquire().await;
        let wait = limiter.next_slot_in();
        assert!(
            wait > Duration::from_millis(300) && wait <= Duration::from_millis(339),
            "{wait:?}"
        );
        limiter.back_off(Some(Duration::from_secs(2))).await;
        assert!(limiter.next_slot_in() > Duration::from_millis(1900));
    }

    /// An allowance that hands out slots `wait` from now and counts reads of its hold.
    #[derive(Default)]
    struct CountingLimits {
        wait: Mutex<Duration>,
        reservations: AtomicUsize,
        hold_reads: AtomicUsize,
    }

    impl SharedLimits for CountingLimits {
        fn reserve_request(
            &self,
            _: &'static str,
            _: Duration,
            _: u32,
        ) -> BoxFuture<'_, Result<Slot, SharedError>> {
            self.reservations.fetch_add(1, Ordering::SeqCst);
            let wait = *self.wait.lock().expect("lock");
            Box::pin(async move { Ok(Slot::In(wait)) })
        }

        fn requests_held_for(
            &self,
            _: &'static str,
        ) -> BoxFuture<'_, Result<Option<Duration>, SharedError>> {
            self.hold_reads.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(None) })
        }

        fn hold_requests(
            &self,
            _: &'static str,
            _: Duration,
        ) -> BoxFuture<'_, Result<(), SharedError>> {
            Box::pin(async { Ok(()) })
        }

        fn start_pause(
            &self,
            _: &'static str,
            _: Duration,
            _: String,
        ) -> BoxFuture<'_, Result<(), SharedError>> {
            Box::pin(async { Ok(()) })
        }

        fn active_pause(
            &self,
            _: &'static str,
        ) -> BoxFuture<'_, Result<Option<ActivePause>, SharedError>> {
            Box::pin(async { Ok(None) })
        }
    }

    #[tokio::test]
    async fn a_slot_due_at_once_costs_one_store_round_trip_and_a_later_one_reads_the_hold_again() {
        let limits = Arc::new(CountingLimits::default());
        let limiter = limiter(3).shared_through(Arc::clone(&limits) as Arc<dyn SharedLimits>);
        limiter.acquire().await;
        let counts = |l: &CountingLimits| {
            (
                l.reservations.load(Ordering::SeqCst),
                l.hold_reads.load(Ordering::SeqCst),
            )
        };
        assert_eq!(
            counts(&limits),
            (1, 0),
            "a free slot: the reservation alone"
        );
        *limits.wait.lock().expect("lock") = Duration::from_millis(400);
        limiter.acquire().await;
        assert_eq!(
            counts(&limits),
            (2, 1),
            "a slot ahead: the hold read before it"
        );
    }

    #[tokio::test]
    async fn a_429_holds_every_request_for_its_retry_after() {
        let limiter = limiter(3);
        limiter.acquire().await;
        let start = Instant::now();
        limiter.back_off(Some(Duration::from_secs(1))).await;
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
