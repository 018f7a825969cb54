//! Waiting with a deadline for what happens in the background.

use std::time::{Duration, Instant};

/// How long a test waits for something to happen before it fails.
pub const WAIT: Duration = Duration::from_secs(30);
/// Between two looks of [`eventually`].
const PAUSE: Duration = Duration::from_millis(10);

/// What one look of [`eventually`] found: `Some` or `Ok` ends the wait; `None`, or `Err`
/// with what was seen instead (told when the wait times out), looks again.
pub trait Look<T> {
    fn found(self) -> Result<T, String>;
}

impl<T> Look<T> for Option<T> {
    fn found(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

impl<T> Look<T> for Result<T, String> {
    fn found(self) -> Result<T, String> {
        self
    }
}

/// The one deadline of a wait, and the failure that names what was waited for.
struct Deadline<'a> {
    what: &'a str,
    timeout: Duration,
    at: Instant,
}

impl<'a> Deadline<'a> {
    fn new(what: &'a str, timeout: Duration) -> Self {
        Self {
            what,
            timeout,
            at: Instant::now() + timeout,
        }
    }

    fn fail(&self, seen: &str) -> ! {
        let separator = if seen.is_empty() { "" } else { "; " };
        panic!(
            "timed out after {:?} waiting for {}{separator}{seen}",
            self.timeout, self.what
        )
    }

    fn check(&self, seen: &str) {
        if Instant::now() >= self.at {
            self.fail(seen);
        }
    }
}

/// Looks with `check` until it finds a value, failing the test after `timeout` with `what`
/// and what the last look saw: work happens in the background (or in another process), and
/// tests wait for its effect rather than sleeping a fixed time. A look that hangs fails at
/// the deadline too.
pub async fn eventually<T, L, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = L>,
    L: Look<T>,
{
    let deadline = Deadline::new(what, timeout);
    let mut seen = String::new();
    loop {
        match tokio::time::timeout_at(deadline.at.into(), check()).await {
            Err(_hung) => deadline.fail(&seen),
            Ok(look) => match look.found() {
                Ok(value) => return value,
                Err(now_seen) => seen = now_seen,
            },
        }
        deadline.check(&seen);
        tokio::time::sleep(PAUSE).await;
    }
}

/// [`eventually`] for code that must not await (on a blocking thread).
pub fn eventually_blocking<T, L: Look<T>>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> L,
) -> T {
    let deadline = Deadline::new(what, timeout);
    loop {
        match check().found() {
            Ok(value) => return value,
            Err(seen) => deadline.check(&seen),
        }
        std::thread::sleep(PAUSE);
    }
}

#[tokio::test]
#[should_panic(expected = "timed out after 50ms waiting for a number over 10; saw 3")]
async fn eventually_fails_at_its_deadline_saying_what_it_saw() {
    eventually("a number over 10", Duration::from_millis(50), || async {
        Err::<(), _>("saw 3".to_owned())
    })
    .await;
}

#[tokio::test]
#[should_panic(expected = "timed out after 50ms waiting for an answer")]
async fn eventually_fails_at_its_deadline_when_a_look_hangs() {
    eventually("an answer", Duration::from_millis(50), || {
        std::future::pending::<Option<()>>()
    })
    .await;
}
