//! The shared-token method: `Authorization: Bearer <token>` or `?key=<token>` (Gong's "URL
//! includes key" option).

use axum::extract::Query;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Uri};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The values of every `Authorization` header, without a `Bearer ` prefix.
pub fn authorization_values(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(AUTHORIZATION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(strip_bearer)
        .collect()
}

pub fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}

#[derive(Deserialize)]
struct KeyParam {
    key: Option<String>,
}

/// The `key` query parameter.
pub fn query_key(uri: &Uri) -> Option<String> {
    Query::<KeyParam>::try_from_uri(uri)
        .ok()
        .and_then(|Query(params)| params.key)
}

/// Whether the request presents `token` in a header or the query.
pub fn presents(headers: &HeaderMap, uri: &Uri, token: &SecretString) -> bool {
    let in_header = authorization_values(headers)
        .into_iter()
        .fold(false, |found, value| found | same_secret(value, token));
    in_header || query_key(uri).is_some_and(|key| same_secret(&key, token))
}

/// Compares digests so neither the content nor the length of the token leaks through timing.
pub fn same_secret(presented: &str, expected: &SecretString) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, authorization: Option<&str>) -> bool {
        let token = SecretString::from("s3cret-token-0123456789");
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value.parse().expect("header value"));
        }
        presents(&headers, &uri.parse().expect("uri"), &token)
    }

    #[test]
    fn the_token_is_accepted_in_the_header_or_the_query() {
        assert!(check(
            "/webhooks/gong",
            Some("Bearer s3cret-token-0123456789")
        ));
        assert!(check(
            "/webhooks/gong",
            Some("bearer s3cret-token-0123456789")
        ));
        assert!(check("/webhooks/gong", Some("s3cret-token-0123456789")));
        assert!(check("/webhooks/gong?key=s3cret-token-0123456789", None));
        assert!(check(
            "/webhooks/gong?x=1&key=s3cret%2Dtoken-0123456789",
            None
        ));
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(!check("/webhooks/gong", None));
        assert!(!check("/webhooks/gong", Some("Bearer wrong")));
        assert!(!check(
            "/webhooks/gong",
            Some("Bearer s3cret-token-012345678")
        ));
        assert!(!check("/webhooks/gong?key=", None));
        assert!(!check("/webhooks/gong?token=s3cret-token-0123456789", None));
        assert!(!check("/webhooks/gong", Some("Bearer")));
    }
}
