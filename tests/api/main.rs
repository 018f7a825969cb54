//! End-to-end tests of the running service against wiremock Gong and Salesforce, and of the
//! real binary as a child process.

mod admin_views;
mod batching;
mod binary;
mod browser;
mod cli;
mod competitor_names;
mod concurrency;
mod connections;
mod console;
mod console_browser;
mod crm_targets;
mod error_shapes;
mod full_disk;
mod helpers;
mod hostile_input;
mod metrics_at_start;
mod operator;
#[path = "../common/postgres.rs"]
mod postgres_server;
mod probes;
mod process;
mod reliability;
mod replicas;
mod salesforce_auth;
mod sandbox;
mod security;
mod stand_ins;
mod sweep;
mod sync_flow;
mod webhook_input;
