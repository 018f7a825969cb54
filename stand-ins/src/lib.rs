//! Stand-ins for Gong and Salesforce, one copy of each, shared by the sandbox
//! (`competitor-sync-sandbox`), the benchmark (`bench`) and the service's integration tests.
//!
//! - [`gong`]: calls in the shape of `POST /v2/calls/extensive`, answered by id, date and
//!   cursor page; over HTTP with Basic auth and Gong's few requests per second, 429 beyond.
//! - [`salesforce`]: an org of Opportunities with the REST API's checks, sObject Collections
//!   updates (per-record results, scripted failures) and the SOQL the service sends; over
//!   HTTP with OAuth and the daily API allowance in `Sforce-Limit-Info`.
//! - [`seed`]: the sandbox's world of calls and Opportunities; [`synthetic`]: a call of its
//!   own for every number, for load and for tests.
//! - [`postgres`]: not a stand-in but the real PostgreSQL server, throw-away, for the tests
//!   and the benchmark to run the store on.
//!
//! The HTTP routers are axum's, for the sandbox and the benchmark; the tests put their own
//! wiremock responders over [`gong::Calls::respond`] and the [`salesforce::rest`] functions.

pub mod gong;
pub mod postgres;
mod rate_window;
pub mod salesforce;
pub mod seed;
pub mod synthetic;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

/// An HTTP answer to a request, before any server framework: the status and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub(crate) fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
