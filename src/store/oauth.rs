//! OAuth state kept across restarts and shared by every process: a refresh token Salesforce
//! rotated (rotation invalidates the old one, so it must be kept before it is used).

use super::{delegate, Store, StoreError};

impl Store {
    delegate! {
        /// The token stored under `name`, if it was rotated from the configured token
        /// `configured`. A token rotated from an older configured one is ignored, so an
        /// operator who configures a new refresh token gets that one used.
        pub async fn rotated_token(
            &self,
            name: &str,
            configured: &str,
        ) -> Result<Option<String>, StoreError>;
        /// Stores `value` as the current token `name`, rotated from the configured
        /// `configured`.
        pub async fn save_rotated_token(
            &self,
            name: &str,
            configured: &str,
            value: &str,
        ) -> Result<(), StoreError>;
    }
}
