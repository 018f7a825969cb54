//! The Salesforce stand-in: an [`Org`] of Opportunities with the REST API's checks
//! ([`Schema`]), answered in bulk through [`rest`]; and [`SalesforceApi`], which serves it over
//! HTTP: the OAuth token endpoint, describe, sObject rows, sObject Collections, SOQL and
//! limits behind a Bearer token, with the org's daily API usage in `Sforce-Limit-Info`.

mod api;
mod error;
mod fields;
mod oauth;
mod org;
pub mod rest;
mod soql;

pub use api::{router, SalesforceApi};
pub use error::SfError;
pub use fields::Schema;
pub use oauth::OAuthSettings;
pub use org::{Org, Record};

/// The one sObject type the org holds.
const OBJECT: &str = "Opportunity";

/// Whether `id` has the form of a Salesforce record id: 15 or 18 letters and digits.
pub(crate) fn is_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}
