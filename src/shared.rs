//! The state every process using the store shares, as the API clients see it: Gong's request
//! allowance, pauses, and rotated OAuth tokens. The store implements these interfaces; the
//! clients depend on them rather than on the store, so neither knows the other.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The name of the pause of all Salesforce work (after `REQUEST_LIMIT_EXCEEDED`, or past
/// the org's usage ratio).
pub const SALESFORCE_PAUSE: &str = "salesforce";

/// A boxed future, so the interfaces can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the shared state could not be read or changed (the store is unavailable).
pub type SharedError = Box<dyn std::error::Error + Send + Sync>;

/// When a request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// After this long from now; the slot is taken.
    In(Duration),
    /// The day's allowance is used up: nothing for this long (until the next UTC day).
    DayUsedUp { for_: Duration },
}

/// A pause in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePause {
    pub remaining: Duration,
    /// When it ends, Unix ms (for display).
    pub until_unix_ms: i64,
    pub reason: String,
}

/// Request allowances and pauses kept together by every process, on one clock.
pub trait SharedLimits: Send + Sync {
    /// Takes the next request slot for `api`: `spacing` after the previous one (of any
    /// process), after any hold, within `daily_limit` requests per UTC day.
    fn reserve_request(
        &self,
        api: &'static str,
        spacing: Duration,
        daily_limit: u32,
    ) -> BoxFuture<'_, Result<Slot, SharedError>>;
    /// How much longer every request for `api` is held, if it is.
    fn requests_held_for(
        &self,
        api: &'static str,
    ) -> BoxFuture<'_, Result<Option<Duration>, SharedError>>;
    /// Holds every request for `api` for `length` from now (a 429's `Retry-After`).
    fn hold_requests(
        &self,
        api: &'static str,
        length: Duration,
    ) -> BoxFuture<'_, Result<(), SharedError>>;
    /// Pauses the work called `name` for `length` from now, for every process.
    fn start_pause(
        &self,
        name: &'static str,
        length: Duration,
        reason: String,
    ) -> BoxFuture<'_, Result<(), SharedError>>;
    /// The pause called `name`, while it lasts.
    fn active_pause(
        &self,
        name: &'static str,
    ) -> BoxFuture<'_, Result<Option<ActivePause>, SharedError>>;
}

/// OAuth tokens that outlive a process: a refresh token Salesforce rotated.
pub trait TokenVault: Send + Sync {
    /// The token kept under `name`, if it was rotated from the configured `configured`.
    fn rotated_token(
        &self,
        name: &'static str,
        configured: String,
    ) -> BoxFuture<'_, Result<Option<String>, SharedError>>;
    /// Keeps `value` as the current token `name`, rotated from `configured`.
    fn save_rotated_token(
        &self,
        name: &'static str,
        configured: String,
        value: String,
    ) -> BoxFuture<'_, Result<(), SharedError>>;
    /// Waits until `holder` alone may refresh the token `name` (every process), for `lease`
    /// at most if it dies meanwhile.
    fn lock(
        &self,
        name: &'static str,
        holder: String,
        lease: Duration,
    ) -> BoxFuture<'_, Result<(), SharedError>>;
    /// Lets the next process refresh.
    fn unlock(&self, holder: String) -> BoxFuture<'_, Result<(), SharedError>>;
}
