//! Gong's "Signed JWT header" webhook authentication: an RS256 JWT in `Authorization`, signed
//! with the key shown in the webhook rule, whose claims bind it to the body (`body_sha256`)
//! and the destination (`webhook_url`).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::digest::sha256_hex;
use crate::webhook_keys::GongKey;

#[derive(Deserialize)]
struct Claims {
    body_sha256: String,
    #[serde(default)]
    webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Malformed,
    /// Signed with another algorithm than RS256: the header's `alg`, as far as printable.
    Algorithm(String),
    Signature,
    Expired,
    MissingClaim,
    BodyMismatch,
    UrlMismatch,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the JWT cannot be read"),
            Self::Algorithm(alg) => write!(
                f,
                "the JWT's algorithm `{alg}` is refused: only RS256 is accepted"
            ),
            Self::Signature => {
                f.write_str("the JWT signature does not match any configured Gong key")
            }
            Self::Expired => f.write_str("the JWT has expired"),
            Self::MissingClaim => f.write_str("the JWT lacks exp or body_sha256"),
            Self::BodyMismatch => {
                f.write_str("the JWT's body_sha256 does not match the body received")
            }
            Self::UrlMismatch => {
                f.write_str("the JWT's webhook_url is not this endpoint (webhook.public_url)")
            }
        }
    }
}

/// Whether `value` has the shape of a JWT (three base64url parts), as opposed to a token.
pub fn looks_like_jwt(value: &str) -> bool {
    value.split('.').count() == 3
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

/// Verifies `token` against `keys`: RS256 only, `exp` with `leeway`, `body_sha256` equal to
/// the hash of `body`, and `webhook_url` equal to `public_url` when one is configured.
pub fn verify(
    token: &str,
    keys: &[GongKey],
    body: &[u8],
    public_url: Option<&str>,
    leeway: Duration,
) -> Result<(), Failure> {
    // Only RS256: a token claiming `none` or HS256 (signed with the public key as an HMAC
    // secret) is refused before any signature check. The header is read here because
    // jsonwebtoken cannot parse `none`, and would report it as a claims error.
    let alg = header_algorithm(token)?;
    if alg != "RS256" {
        return Err(Failure::Algorithm(printable(&alg)));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = leeway.as_secs();
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    let mut failure = Failure::Signature;
    let claims = keys.iter().find_map(|key| {
        match jsonwebtoken::decode::<Claims>(token, key.decoding_key(), &validation) {
            Ok(data) => Some(data.claims),
            Err(error) => {
                failure = match error.kind() {
                    ErrorKind::InvalidSignature => Failure::Signature,
                    ErrorKind::ExpiredSignature => Failure::Expired,
                    ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => {
                        Failure::MissingClaim
                    }
                    _ => Failure::Malformed,
                };
                None
            }
        }
    });
    let claims = claims.ok_or(failure)?;
    let received = sha256_hex(body);
    let claimed = claims.body_sha256.trim().to_ascii_lowercase();
    if !bool::from(received.as_bytes().ct_eq(claimed.as_bytes())) {
        return Err(Failure::BodyMismatch);
    }
    if let Some(expected) = public_url {
        let matches = claims
            .webhook_url
            .as_deref()
            .is_some_and(|claimed| same_endpoint(claimed, expected));
        if !matches {
            return Err(Failure::UrlMismatch);
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// The `alg` of the token's header.
fn header_algorithm(token: &str) -> Result<String, Failure> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let encoded = token.split('.').next().ok_or(Failure::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Failure::Malformed)?;
    let header: Header = serde_json::from_slice(&json).map_err(|_| Failure::Malformed)?;
    Ok(header.alg)
}

/// `alg` as it may be echoed in a refusal and a log line: it is the sender's text.
fn printable(alg: &str) -> String {
    const LIMIT: usize = 32;
    let shown: String = alg
        .chars()
        .take(LIMIT)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if alg.chars().count() > LIMIT {
        format!("{shown}…")
    } else {
        shown
    }
}

/// Compares scheme, host, port and path (trailing slash aside); the query string and
/// fragment are ignored, since how Gong normalises the URL it signs is not documented.
fn same_endpoint(claimed: &str, expected: &str) -> bool {
    let parts = |text: &str| {
        reqwest::Url::parse(text.trim()).ok().map(|url| {
            (
                url.scheme().to_owned(),
                url.host_str().map(str::to_ascii_lowercase),
                url.port_or_known_default(),
                url.path().trim_end_matches('/').to_owned(),
            )
        })
    };
    matches!((parts(claimed), parts(expected)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
pub(crate) mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    pub fn private_key() -> String {
        let path = format!(
            "{}/tests/fixtures/jwt_test_key.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("test key")
    }

    pub fn public_key_pem() -> String {
        let path = format!(
            "{}/tests/fixtures/jwt_test_key.pub.pem",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("test key")
    }

    /// The public key as Gong shows it: base64 DER, no armour, one line.
    pub fn public_key_bare() -> String {
        public_key_pem()
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect()
    }

    pub fn sign(claims: serde_json::Value) -> String {
        let key = EncodingKey::from_rsa_pem(private_key().as_bytes()).expect("private key");
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signed")
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    const BODY: &[u8] = br#"{"isTest":false,"callData":{"metaData":{"id":"1"}}}"#;
    const URL: &str = "https://sync.example.com/webhooks/gong";

    fn valid_claims() -> serde_json::Value {
        json!({"exp": now() + 300, "body_sha256": sha256_hex(BODY), "webhook_url": URL})
    }

    fn check(token: &str, public_url: Option<&str>) -> Result<(), Failure> {
        let keys = [GongKey::parse(&public_key_bare()).expect("key")];
        verify(token, &keys, BODY, public_url, Duration::from_secs(30))
    }

    #[test]
    fn a_token_signed_by_gongs_key_for_this_body_and_url_passes() {
        assert_eq!(check(&sign(valid_claims()), Some(URL)), Ok(()));
        assert_eq!(
            check(&sign(valid_claims()), Some(&format!("{URL}/"))),
            Ok(())
        );
        assert_eq!(check(&sign(valid_claims()), None), Ok(()));
        let pem = [GongKey::parse(&public_key_pem()).expect("PEM key")];
        assert_eq!(
            verify(&sign(valid_claims()), &pem, BODY, None, Duration::ZERO),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let keys = [GongKey::parse(&public_key_bare()).expect("key")];
        let tampered = br#"{"isTest":false,"callData":{"metaData":{"id":"2"}}}"#;
        assert_eq!(
            verify(&sign(valid_claims()), &keys, tampered, None, Duration::ZERO),
            Err(Failure::BodyMismatch)
        );
    }

    #[test]
    fn expiry_is_checked_with_the_leeway() {
        let mut claims = valid_claims();
        claims["exp"] = json!(now() - 10);
        assert_eq!(
            check(&sign(claims.clone()), None),
            Ok(()),
            "within 30s leeway"
        );
        claims["exp"] = json!(now() - 120);
        assert_eq!(check(&sign(claims.clone()), None), Err(Failure::Expired));
        claims.as_object_mut().expect("object").remove("exp");
        assert_eq!(check(&sign(claims), None), Err(Failure::MissingClaim));
    }

    #[test]
    fn another_destination_is_refused() {
        let mut claims = valid_claims();
        claims["webhook_url"] = json!("https://attacker.example.com/webhooks/gong");
        assert_eq!(
            check(&sign(claims.clone()), Some(URL)),
            Err(Failure::UrlMismatch)
        );
        claims
            .as_object_mut()
            .expect("object")
            .remove("webhook_url");
        assert_eq!(check(&sign(claims), Some(URL)), Err(Failure::UrlMismatch));
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let token = sign(valid_claims());
        let (head, rest) = token.split_once('.').expect("JWT");
        let (payload, _) = rest.split_once('.').expect("JWT");
        let forged = format!("{head}.{payload}.{}", "A".repeat(342));
        assert_eq!(check(&forged, None), Err(Failure::Signature));
    }

    #[test]
    fn algorithm_confusion_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let payload = URL_SAFE_NO_PAD.encode(valid_claims().to_string());
        // alg none, no signature.
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert!(check(&none, None).is_err());
        // HS256 keyed with the public key: the classic confusion attack.
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &valid_claims(),
            &EncodingKey::from_secret(public_key_pem().as_bytes()),
        )
        .expect("signed");
        assert_eq!(check(&hs, None), Err(Failure::Algorithm("HS256".into())));
        let rs512 = {
            let key = EncodingKey::from_rsa_pem(private_key().as_bytes()).expect("key");
            jsonwebtoken::encode(&Header::new(Algorithm::RS512), &valid_claims(), &key)
                .expect("signed")
        };
        assert_eq!(check(&rs512, None), Err(Failure::Algorithm("RS512".into())));
    }

    #[test]
    fn an_unsigned_token_is_refused_for_its_algorithm_not_its_claims() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let payload = URL_SAFE_NO_PAD.encode(valid_claims().to_string());
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        let refusal = check(&none, None).expect_err("refused").to_string();
        assert_eq!(
            refusal,
            "the JWT's algorithm `none` is refused: only RS256 is accepted"
        );
        // The sender's text is echoed only as printable characters.
        let odd = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"no\nne"}"#)
        );
        assert_eq!(check(&odd, None), Err(Failure::Algorithm("no?ne".into())));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(check("a.b.c", None).is_err());
        assert!(check("", None).is_err());
        assert!(!looks_like_jwt("plain-token-value"));
        assert!(looks_like_jwt(&sign(valid_claims())));
    }
}
