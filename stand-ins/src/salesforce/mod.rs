//! The Salesforce stand-in: an [`Org`] of Opportunities with the REST API's checks
//! ([`Schema`], restricted picklists whose values the org holds), and of their Competitors
//! related lists (OpportunityCompetitor rows, [`CompetitorRow`]), answered in bulk through
//! [`rest`]; and [`SalesforceApi`], which serves it over HTTP: the OAuth token endpoint,
//! describe, sObject rows, sObject Collections, SOQL and limits behind a Bearer token, with
//! the org's daily API usage in `Sforce-Limit-Info`.

mod api;
mod competitor;
mod error;
mod fields;
mod oauth;
mod org;
mod picklist;
pub mod rest;
mod soql;

pub use api::{router, SalesforceApi};
pub use error::SfError;
pub use fields::Schema;
pub use oauth::OAuthSettings;
pub use org::{CompetitorRow, Org, Record};
pub use picklist::PicklistValue;

/// The sObject type whose records the org holds; rows of its Competitors related lists are
/// [`competitor::OBJECT`].
const OBJECT: &str = "Opportunity";

/// Whether `id` has the form of a Salesforce record id: 15 or 18 letters and digits.
pub(crate) fn is_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}
