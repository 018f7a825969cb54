//! End-to-end tests of the running service against wiremock Gong and Salesforce.

mod helpers;
mod probes;
mod salesforce_auth;
mod sync_flow;
mod webhook_input;
