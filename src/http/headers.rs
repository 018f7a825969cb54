//! Limits on request header sections. The HTTP parser is let through well beyond them, so
//! that an oversized request is refused here, with the JSON error every other answer uses,
//! rather than by hyper with an empty 431.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Header fields one request may carry (hyper's own default limit).
pub const MAX_HEADER_FIELDS: usize = 100;
/// Bytes of header fields one request may carry, counting each as `name: value\r\n`.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Header fields hyper parses before answering an empty 431 itself (HTTP/1).
pub const PARSER_MAX_HEADER_FIELDS: usize = 500;
/// Bytes of request head (request line and headers) hyper buffers before answering an
/// empty 431 itself (HTTP/1); also the header list size allowed over HTTP/2.
pub const PARSER_MAX_HEAD_BYTES: usize = 256 * 1024;

/// Answers 431 with a JSON error to a request beyond [`MAX_HEADER_FIELDS`] or
/// [`MAX_HEADER_BYTES`].
pub async fn limit_headers(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let fields = headers.len();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if fields > MAX_HEADER_FIELDS || bytes > MAX_HEADER_BYTES {
        // The trace layer is inside this one: this is the request's only log line.
        tracing::info!(
            path = %request.uri().path(),
            fields,
            bytes,
            "request refused: header section too large"
        );
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            format!(
                "the request has {fields} header fields in {bytes} bytes; at most \
                 {MAX_HEADER_FIELDS} fields and {MAX_HEADER_BYTES} bytes are accepted"
            ),
        )
        .into_response();
    }
    next.run(request).await
}
