//! Webhook authentication, checked before the body is read.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::config::WebhookSettings;
use crate::telemetry;

/// Who may enqueue work.
pub enum WebhookAuth {
    /// A shared token (Gong's "URL includes key", or a relay's bearer token).
    Token(SecretString),
    /// `webhook.allow_unauthenticated = true`: local experiments only.
    Open,
}

impl WebhookAuth {
    pub fn from_settings(settings: &WebhookSettings) -> Self {
        match &settings.token {
            Some(token) => Self::Token(token.clone()),
            None => Self::Open,
        }
    }

    /// Whether the request presents the token, in the `Authorization` header (with or
    /// without the `Bearer ` prefix) or in the `key` query parameter.
    pub fn admits(&self, request: &Request) -> bool {
        let Self::Token(token) = self else {
            return true;
        };
        let header = request
            .headers()
            .get_all(AUTHORIZATION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(|value| {
                let value = value.trim();
                value
                    .get(..7)
                    .filter(|prefix| prefix.eq_ignore_ascii_case("bearer "))
                    .map_or(value, |_| value[7..].trim())
            })
            .any(|presented| same_secret(presented, token));
        header || query_key(request).is_some_and(|presented| same_secret(&presented, token))
    }
}

#[derive(Deserialize)]
struct KeyParam {
    key: Option<String>,
}

fn query_key(request: &Request) -> Option<String> {
    Query::<KeyParam>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(params)| params.key)
}

/// Compares digests so neither the content nor the length of the token leaks through timing.
pub(super) fn same_secret(presented: &str, expected: &SecretString) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}

pub async fn require_webhook_auth(
    State(auth): State<Arc<WebhookAuth>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admits(&request) {
        next.run(request).await
    } else {
        telemetry::webhook_received("unauthorized");
        tracing::warn!("webhook rejected: missing or wrong credentials");
        ApiError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(uri: &str, authorization: Option<&str>) -> Request {
        let mut builder = Request::builder().uri(uri);
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(Body::empty()).expect("request builds")
    }

    #[test]
    fn the_token_is_accepted_in_the_header_or_the_query() {
        let auth = WebhookAuth::Token(SecretString::from("s3cret-token-0123456789"));
        assert!(auth.admits(&request(
            "/webhooks/gong",
            Some("Bearer s3cret-token-0123456789")
        )));
        assert!(auth.admits(&request(
            "/webhooks/gong",
            Some("bearer s3cret-token-0123456789")
        )));
        assert!(auth.admits(&request("/webhooks/gong", Some("s3cret-token-0123456789"))));
        assert!(auth.admits(&request("/webhooks/gong?key=s3cret-token-0123456789", None)));
        assert!(auth.admits(&request(
            "/webhooks/gong?x=1&key=s3cret%2Dtoken-0123456789",
            None
        )));
    }

    #[test]
    fn anything_else_is_refused() {
        let auth = WebhookAuth::Token(SecretString::from("s3cret-token-0123456789"));
        assert!(!auth.admits(&request("/webhooks/gong", None)));
        assert!(!auth.admits(&request("/webhooks/gong", Some("Bearer wrong"))));
        assert!(!auth.admits(&request(
            "/webhooks/gong",
            Some("Bearer s3cret-token-012345678")
        )));
        assert!(!auth.admits(&request("/webhooks/gong?key=", None)));
        assert!(!auth.admits(&request(
            "/webhooks/gong?token=s3cret-token-0123456789",
            None
        )));
        assert!(!auth.admits(&request("/webhooks/gong", Some("Bearer"))));
    }

    #[test]
    fn open_mode_admits_everyone() {
        assert!(WebhookAuth::Open.admits(&request("/webhooks/gong", None)));
    }
}
