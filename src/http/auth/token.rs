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

/// Lenient, for webhook senders: Gong's JWT comes with or without `Bearer `, and
/// surrounding whitespace is ignored.
pub fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}

/// The credentials of `Bearer <credentials>`, strictly as RFC 9110 (section 11) spells an
/// `Authorization` value: the scheme in any case, one or more spaces, then credentials
/// with no whitespace around them. `None` for anything else.
pub fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    let credentials = rest.trim_start_matches(' ');
    let clean = scheme.eq_ignore_ascii_case("bearer")
        && !credentials.is_empty()
        && credentials.trim() == credentials;
    clean.then_some(credentials)
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
    fn strict_bearer_credentials_take_the_scheme_in_any_case_and_nothing_else() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer   abc"] {
            assert_eq!(bearer_credentials(value), Some("abc"), "{value:?}");
        }
        for value in [
            "abc",
            "Bearer abc ",
            "Bearer abc\t",
            " Bearer abc",
            "Bearer\tabc",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Basic abc",
        ] {
            assert_eq!(bearer_credentials(value), None, "{value:?}");
        }
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
