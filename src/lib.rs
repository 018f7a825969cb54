//! competitor-sync: writes the competitors Gong hears on a sales call into the Salesforce
//! records linked to that call.
//!
//! Webhook in ([`http`]) → durable job ([`store`]) → worker ([`worker`]) fetching the call
//! ([`gong`]), planning the writes ([`sync`], pure) and writing them ([`salesforce`]). The
//! catch-up [`sweep`] queues the calls whose webhook never came.

pub mod app;
pub mod config;
mod digest;
pub mod gong;
pub mod http;
pub mod retry;
pub mod salesforce;
pub mod shared;
pub mod store;
pub mod sweep;
pub mod sync;
pub mod telemetry;
mod upstream;
pub mod webhook_keys;
pub mod worker;

pub use app::Application;
