//! Every error answer is JSON: `{"error": "<code>", "message": "<human text>"}`.

use std::borrow::Cow;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    /// An error whose code is derived from `status`, for answers made outside the handlers.
    fn for_status(status: StatusCode, message: String) -> Self {
        Self {
            status,
            code: code_for(status),
            message,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the {limit} bytes allowed (server.max_body_bytes)"),
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn overloaded() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many webhook requests at once (server.max_concurrent_webhooks); retry shortly",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "message": self.message }));
        let mut response = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("5"));
        }
        response
    }
}

/// Largest body of a non-JSON error kept as its message; a longer one is not a message.
const MAX_MESSAGE_BYTES: usize = 4096;

/// Turns any 4xx or 5xx answer that is not JSON (tower-http's 408, axum's extractor
/// rejections) into the documented shape, keeping its status and other headers: clients
/// then parse one error format whatever produced the error.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // The console's error pages are HTML on purpose: a person reads them.
    let is_json_or_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json_or_page || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let message = text.unwrap_or_else(|| default_message(status));
    let mut rewritten = ApiError::for_status(status, message).into_response();
    let headers = rewritten.headers_mut();
    for name in parts.headers.keys() {
        let replaced = [header::CONTENT_TYPE, header::CONTENT_LENGTH].contains(name);
        if !replaced && !headers.contains_key(name) {
            for value in parts.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    rewritten
}

/// `request_timeout` for 408 and so on; the handlers' own codes for 500 and 503.
fn code_for(status: StatusCode) -> Cow<'static, str> {
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => Cow::Borrowed("internal"),
        StatusCode::SERVICE_UNAVAILABLE => Cow::Borrowed("unavailable"),
        _ => {
            let reason = status
                .canonical_reason()
                .unwrap_or(if status.is_client_error() {
                    "client error"
                } else {
                    "server error"
                });
            let snake = reason.chars().map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            });
            Cow::Owned(snake.collect())
        }
    }
}

fn default_message(status: StatusCode) -> String {
    match status {
        StatusCode::REQUEST_TIMEOUT => {
            "the request was not received and answered within server.request_timeout".to_owned()
        }
        _ => status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_derived_from_statuses_are_snake_case_reasons() {
        assert_eq!(code_for(StatusCode::REQUEST_TIMEOUT), "request_timeout");
        assert_eq!(
            code_for(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            "request_header_fields_too_large"
        );
        assert_eq!(code_for(StatusCode::BAD_REQUEST), "bad_request");
        assert_eq!(code_for(StatusCode::INTERNAL_SERVER_ERROR), "internal");
        assert_eq!(code_for(StatusCode::SERVICE_UNAVAILABLE), "unavailable");
        let unnamed = StatusCode::from_u16(499).expect("status");
        assert_eq!(code_for(unnamed), "client_error");
    }
}
