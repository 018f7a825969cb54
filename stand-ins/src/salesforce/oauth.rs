//! `POST /services/oauth2/token`: the client credentials and JWT bearer grants.
//!
//! The JWT bearer assertion's signature is not verified: the stand-in has no connected app
//! certificate to check it against. Its header and claims are checked as Salesforce does
//! (RS256; `iss` the client id, `sub` the username, `aud` a login host, `exp` at most three
//! minutes ahead), which catches what usually goes wrong in configuration.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// What the token endpoint accepts.
pub struct OAuthSettings {
    pub client_id: String,
    pub client_secret: String,
    pub username: String,
    /// The stand-in's URL, accepted as a JWT audience beside Salesforce's login hosts.
    pub public_url: String,
}

/// An OAuth refusal: the `error` and `error_description` Salesforce answers, and for the
/// stand-in's own log, what exactly was wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: &'static str,
    pub detail: String,
}

impl Refusal {
    fn new(error: &'static str, description: &'static str, detail: impl Into<String>) -> Self {
        Self {
            error,
            description,
            detail: detail.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

/// Lifetime Salesforce allows a JWT bearer assertion, plus clock skew.
const MAX_ASSERTION_SECS: i64 = 3 * 60 + 30;

/// Checks a token request's form at Unix time `now`; returns the grant's name.
pub fn check_grant(
    settings: &OAuthSettings,
    form: &HashMap<String, String>,
    now: i64,
) -> Result<&'static str, Refusal> {
    let value = |key: &str| form.get(key).map(String::as_str).unwrap_or_default();
    match value("grant_type") {
        "client_credentials" => {
            if value("client_id") != settings.client_id {
                return Err(Refusal::new(
                    "invalid_client_id",
                    "client identifier invalid",
                    "client_id is not the stand-in's",
                ));
            }
            if value("client_secret") != settings.client_secret {
                return Err(Refusal::new(
                    "invalid_client",
                    "invalid client credentials",
                    "client_secret is not the stand-in's",
                ));
            }
            Ok("client_credentials")
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            check_assertion(settings, value("assertion"), now)?;
            Ok("jwt_bearer")
        }
        other => Err(Refusal::new(
            "unsupported_grant_type",
            "grant type not supported",
            format!("grant_type `{other}`: the stand-in takes client_credentials and the JWT bearer grant"),
        )),
    }
}

fn check_assertion(settings: &OAuthSettings, assertion: &str, now: i64) -> Result<(), Refusal> {
    let invalid = |detail: &str| Refusal::new("invalid_grant", "invalid assertion", detail);
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(invalid(
            "the assertion is not a JWT (three dot-separated parts)",
        ));
    };
    if signature.is_empty() {
        return Err(invalid("the assertion is not signed"));
    }
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
    };
    let header = decode(header).ok_or_else(|| invalid("the JWT header is not base64url JSON"))?;
    let claims = decode(claims).ok_or_else(|| invalid("the JWT claims are not base64url JSON"))?;
    if header["alg"] != "RS256" {
        return Err(invalid("the JWT is not RS256"));
    }
    if claims["iss"] != settings.client_id.as_str() {
        return Err(Refusal::new(
            "invalid_client_id",
            "client identifier invalid",
            "iss is not the stand-in's client id",
        ));
    }
    let audience_ok = claims["aud"].as_str().is_some_and(|aud| {
        let aud = aud.trim_end_matches('/');
        aud == "https://login.salesforce.com"
            || aud == "https://test.salesforce.com"
            || aud == settings.public_url.trim_end_matches('/')
    });
    if !audience_ok {
        return Err(Refusal::new(
            "invalid_grant",
            "audience is invalid",
            "aud must be https://login.salesforce.com or https://test.salesforce.com",
        ));
    }
    if claims["sub"] != settings.username.as_str() {
        return Err(Refusal::new(
            "invalid_grant",
            "user hasn't approved this consumer",
            "sub is not the stand-in's username",
        ));
    }
    match claims["exp"].as_i64() {
        Some(exp) if exp <= now => Err(invalid("exp has passed")),
        Some(exp) if exp > now + MAX_ASSERTION_SECS => {
            Err(invalid("exp is more than 3 minutes ahead"))
        }
        Some(_) => Ok(()),
        None => Err(invalid("exp is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_912_345;

    fn settings() -> OAuthSettings {
        OAuthSettings {
            client_id: "client".into(),
            client_secret: "secret".into(),
            username: "integration@example.com".into(),
            public_url: "http://sandbox:8081".into(),
        }
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn jwt(header: Value, claims: Value) -> String {
        let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
        format!("{}.{}.c2lnbmF0dXJl", part(header), part(claims))
    }

    fn claims() -> Value {
        json!({"iss": "client", "sub": "integration@example.com",
               "aud": "https://login.salesforce.com", "exp": NOW + 180})
    }

    fn assertion_error(header: Value, claims: Value) -> &'static str {
        let assertion = jwt(header, claims);
        let form = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
        ]);
        check_grant(&settings(), &form, NOW)
            .expect_err("refused")
            .description
    }

    #[test]
    fn client_credentials_must_match() {
        let good = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "client"),
            ("client_secret", "secret"),
        ]);
        assert_eq!(
            check_grant(&settings(), &good, NOW),
            Ok("client_credentials")
        );
        let mut wrong = good.clone();
        wrong.insert("client_secret".into(), "guess".into());
        let refusal = check_grant(&settings(), &wrong, NOW).expect_err("refused");
        assert_eq!(refusal.body()["error"], "invalid_client");
        let unknown = form(&[("grant_type", "password")]);
        assert_eq!(
            check_grant(&settings(), &unknown, NOW)
                .expect_err("refused")
                .error,
            "unsupported_grant_type"
        );
    }

    #[test]
    fn a_jwt_bearer_assertion_has_its_claims_checked() {
        let rs256 = json!({"alg": "RS256"});
        let assertion = jwt(rs256.clone(), claims());
        let good = form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
        ]);
        assert_eq!(check_grant(&settings(), &good, NOW), Ok("jwt_bearer"));

        let mut other_audience = claims();
        other_audience["aud"] = json!("https://example.com");
        assert_eq!(
            assertion_error(rs256.clone(), other_audience),
            "audience is invalid"
        );
        let mut other_user = claims();
        other_user["sub"] = json!("someone@example.com");
        assert_eq!(
            assertion_error(rs256.clone(), other_user),
            "user hasn't approved this consumer"
        );
        let mut expired = claims();
        expired["exp"] = json!(NOW - 1);
        assert_eq!(assertion_error(rs256.clone(), expired), "invalid assertion");
        let mut too_long = claims();
        too_long["exp"] = json!(NOW + 3600);
        assert_eq!(assertion_error(rs256, too_long), "invalid assertion");
        assert_eq!(
            assertion_error(json!({"alg": "HS256"}), claims()),
            "invalid assertion"
        );
    }
}
