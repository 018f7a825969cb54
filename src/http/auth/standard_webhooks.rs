//! Standard Webhooks signatures (standardwebhooks.com), as sent by relays such as Svix and
//! Hookdeck: `webhook-id`, `webhook-timestamp`, `webhook-signature` headers, HMAC-SHA256 over
//! `{id}.{timestamp}.{body}` with a `whsec_`-prefixed base64 key.

use std::fmt;

use axum::http::HeaderMap;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::webhook_keys::HmacSecret;
use crate::webhook_keys::BASE64;

/// Deliveries whose timestamp is further than this from now are refused (replay window).
pub const TOLERANCE_SECS: i64 = 5 * 60;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    MissingHeader(&'static str),
    DuplicateHeader(&'static str),
    TimestampUnparseable,
    TimestampTooOld,
    TimestampTooNew,
    Signature,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader(name) => write!(f, "the {name} header is missing"),
            Self::DuplicateHeader(name) => write!(f, "the {name} header is sent more than once"),
            Self::TimestampUnparseable => write!(f, "webhook-timestamp is not Unix seconds"),
            Self::TimestampTooOld => write!(f, "webhook-timestamp is more than 5 minutes old"),
            Self::TimestampTooNew => write!(f, "webhook-timestamp is more than 5 minutes ahead"),
            Self::Signature => write!(f, "no webhook-signature matches the body"),
        }
    }
}

/// Whether the request carries any Standard Webhooks header (and so is meant for this check).
pub fn is_present(headers: &HeaderMap) -> bool {
    [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// Checks the signature headers against `body` with any of `secrets`, at time `now` (Unix
/// seconds). Returns the `webhook-id`, which identifies the message across redeliveries.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[HmacSecret],
    now: i64,
) -> Result<String, Failure> {
    let id = single_header(headers, ID_HEADER)?;
    let timestamp = single_header(headers, TIMESTAMP_HEADER)?;
    let signatures = single_header(headers, SIGNATURE_HEADER)?;
    let seconds: i64 = timestamp
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| timestamp.parse().ok())
        .flatten()
        .ok_or(Failure::TimestampUnparseable)?;
    if now.saturating_sub(seconds) > TOLERANCE_SECS {
        return Err(Failure::TimestampTooOld);
    }
    if seconds.saturating_sub(now) > TOLERANCE_SECS {
        return Err(Failure::TimestampTooNew);
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| BASE64.decode(encoded).ok())
        .collect();
    let matched = secrets.iter().any(|secret| {
        let expected = secret.sign(id, timestamp, body);
        // Every candidate is compared, in constant time, whatever matched before.
        candidates.iter().fold(false, |found, candidate| {
            found | bool::from(expected.ct_eq(candidate))
        })
    });
    if matched {
        Ok(id.to_owned())
    } else {
        Err(Failure::Signature)
    }
}

fn single_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Failure> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or(Failure::MissingHeader(name))?;
    if values.next().is_some() {
        return Err(Failure::DuplicateHeader(name));
    }
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| Failure::MissingHeader(name))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};
    use serde_json::Value;

    use super::*;

    fn vectors(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/vectors/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("JSON")
    }

    fn headers(map: &Value) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in map.as_object().expect("headers") {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value.as_str().expect("text")).expect("value"),
            );
        }
        headers
    }

    fn expectation(result: &Result<String, Failure>) -> &'static str {
        match result {
            Ok(_) => "valid",
            Err(Failure::Signature) => "invalid:signature",
            Err(Failure::TimestampTooOld) => "invalid:timestamp_too_old",
            Err(Failure::TimestampTooNew) => "invalid:timestamp_too_new",
            Err(Failure::TimestampUnparseable) => "invalid:timestamp_unparseable",
            Err(Failure::MissingHeader(_)) => "invalid:missing_header",
            Err(Failure::DuplicateHeader(_)) => "invalid:duplicate_header",
        }
    }

    #[test]
    fn the_official_sign_vectors_are_reproduced() {
        for vector in vectors("standard-webhooks.official.json")["sign_vectors"]
            .as_array()
            .expect("sign vectors")
        {
            let secret =
                HmacSecret::parse(vector["secret"].as_str().expect("secret")).expect("secret");
            let signature = secret.sign(
                vector["msg_id"].as_str().expect("id"),
                &vector["timestamp"].to_string(),
                vector["payload"].as_str().expect("payload").as_bytes(),
            );
            assert_eq!(
                format!("v1,{}", BASE64.encode(signature)),
                vector["expected_signature"].as_str().expect("signature"),
                "{}",
                vector["name"]
            );
        }
    }

    #[test]
    fn every_derived_case_gets_its_expected_outcome() {
        let cases = vectors("standard-webhooks.derived.json");
        let cases = cases["cases"].as_array().expect("cases");
        assert!(cases.len() >= 26);
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let secret = HmacSecret::parse(case["secret"].as_str().expect("secret"))
                .unwrap_or_else(|e| panic!("{name}: secret {e}"));
            let result = verify(
                &headers(&case["headers"]),
                case["payload"].as_str().expect("payload").as_bytes(),
                &[secret],
                case["now"].as_i64().expect("now"),
            );
            let expected = match case["expect"].as_str().expect("expect") {
                // This verifier accepts unpadded secrets (as the Python library does).
                "valid_if_unpadded_secrets_accepted" => "valid",
                other => other,
            };
            assert_eq!(expectation(&result), expected, "case {name}");
        }
    }

    #[test]
    fn rotation_accepts_any_configured_secret() {
        let case = &vectors("standard-webhooks.derived.json")["cases"][0];
        let old = HmacSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret");
        let current = HmacSecret::parse(case["secret"].as_str().expect("secret")).expect("secret");
        let body = case["payload"].as_str().expect("payload").as_bytes();
        let headers = headers(&case["headers"]);
        let now = case["now"].as_i64().expect("now");
        assert_eq!(
            verify(&headers, body, &[old, current], now).as_deref(),
            Ok("msg_p5jXN8AQM9LWM0D4loKWxJek")
        );
        let only_old = HmacSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret");
        assert_eq!(
            verify(&headers, body, &[only_old], now),
            Err(Failure::Signature)
        );
    }

    #[test]
    fn a_duplicated_header_is_refused() {
        let case = &vectors("standard-webhooks.derived.json")["cases"][0];
        let secret = HmacSecret::parse(case["secret"].as_str().expect("secret")).expect("secret");
        let mut headers = headers(&case["headers"]);
        headers.append(TIMESTAMP_HEADER, HeaderValue::from_static("1614265330"));
        let body = case["payload"].as_str().expect("payload").as_bytes();
        assert_eq!(
            verify(&headers, body, &[secret], 1_614_265_330),
            Err(Failure::DuplicateHeader(TIMESTAMP_HEADER))
        );
    }
}
