//! The Gong stand-in: [`Calls`] answers `POST /v2/calls/extensive` ("List call data by date
//! or call IDs") with the `callIds` and date filters, cursor pages and the content selector
//! (parties, trackers, their occurrences only when asked), and `POST /v2/calls/transcript`;
//! [`GongApi`] serves it over HTTP with Basic auth and the per-second limit answered with 429
//! and `Retry-After`.

mod api;
mod calls;

pub use api::{router, GongApi, GongSettings};
pub use calls::{Calls, MAX_PAGE_SIZE};

use serde_json::{json, Value};

/// Gong's error body: `{"requestId": "...", "errors": ["..."]}`.
fn error_body(message: &str) -> Value {
    json!({ "requestId": request_id(), "errors": [message] })
}

fn request_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
