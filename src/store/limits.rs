//! Limits every process using the store keeps together, on the store's clock (never a
//! process's): Gong's request allowance (evenly spaced slots, a daily count, a 429's hold)
//! and pauses such as Salesforce's after `REQUEST_LIMIT_EXCEEDED`. An allowance is reserved
//! by updating one row, so no slot is handed out twice.

use std::time::Duration;

use super::{delegate, RecordKey, Store, StoreError};
use crate::shared::{ActivePause, BoxFuture, SharedError, SharedLimits, Slot, TokenVault};

impl Store {
    delegate! {
        /// Takes the next request slot for `api`: `spacing` after the previous one (of any
        /// process), after any hold, and within `daily_limit` requests per UTC day.
        pub async fn reserve_request(
            &self,
            api: &str,
            spacing: Duration,
            daily_limit: u32,
        ) -> Result<Slot, StoreError>;
        /// Requests for `api` taken from today's allowance (UTC day, the store's clock).
        pub async fn requests_used_today(&self, api: &str) -> Result<u64, StoreError>;
        /// How much longer every request for `api` is held, if it is.
        pub async fn requests_held_for(&self, api: &str) -> Result<Option<Duration>, StoreError>;
        /// Holds every request for `api` for `length` from now (a 429's `Retry-After`); a
        /// longer hold already in force stays.
        pub async fn hold_requests(&self, api: &str, length: Duration) -> Result<(), StoreError>;
        /// Pauses the work called `name` for `length` from now, for every process.
        pub async fn start_pause(
            &self,
            name: &str,
            length: Duration,
            reason: &str,
        ) -> Result<(), StoreError>;
        /// The pause called `name`, while it lasts.
        pub async fn active_pause(&self, name: &str) -> Result<Option<ActivePause>, StoreError>;
    }
}

impl SharedLimits for Store {
    fn reserve_request(
        &self,
        api: &'static str,
        spacing: Duration,
        daily_limit: u32,
    ) -> BoxFuture<'_, Result<Slot, SharedError>> {
        Box::pin(async move { Ok(Store::reserve_request(self, api, spacing, daily_limit).await?) })
    }

    fn requests_held_for(
        &self,
        api: &'static str,
    ) -> BoxFuture<'_, Result<Option<Duration>, SharedError>> {
        Box::pin(async move { Ok(Store::requests_held_for(self, api).await?) })
    }

    fn hold_requests(
        &self,
        api: &'static str,
        length: Duration,
    ) -> BoxFuture<'_, Result<(), SharedError>> {
        Box::pin(async move { Ok(Store::hold_requests(self, api, length).await?) })
    }

    fn start_pause(
        &self,
        name: &'static str,
        length: Duration,
        reason: String,
    ) -> BoxFuture<'_, Result<(), SharedError>> {
        Box::pin(async move { Ok(Store::start_pause(self, name, length, &reason).await?) })
    }

    fn active_pause(
        &self,
        name: &'static str,
    ) -> BoxFuture<'_, Result<Option<ActivePause>, SharedError>> {
        Box::pin(async move { Ok(Store::active_pause(self, name).await?) })
    }
}

impl TokenVault for Store {
    fn rotated_token(
        &self,
        name: &'static str,
        configured: String,
    ) -> BoxFuture<'_, Result<Option<String>, SharedError>> {
        Box::pin(async move { Ok(Store::rotated_token(self, name, &configured).await?) })
    }

    fn save_rotated_token(
        &self,
        name: &'static str,
        configured: String,
        value: String,
    ) -> BoxFuture<'_, Result<(), SharedError>> {
        Box::pin(
            async move { Ok(Store::save_rotated_token(self, name, &configured, &value).await?) },
        )
    }

    fn lock(
        &self,
        name: &'static str,
        holder: String,
        lease: Duration,
    ) -> BoxFuture<'_, Result<(), SharedError>> {
        Box::pin(async move {
            let key = [RecordKey::new("oauth", name)];
            Ok(self.lock_records(&holder, &key, lease).await?)
        })
    }

    fn unlock(&self, holder: String) -> BoxFuture<'_, Result<(), SharedError>> {
        Box::pin(async move { Ok(self.unlock_records(&holder).await?) })
    }
}
