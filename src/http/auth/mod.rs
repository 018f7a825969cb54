//! Webhook authentication. Several methods may be configured at once (and several keys per
//! method, for rotation); any one valid method admits the request. Every check runs on the
//! raw bytes, before the body is parsed, and compares in constant time.

mod gong_jwt;
pub mod standard_webhooks;
mod token;

use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use secrecy::SecretString;

use crate::config::WebhookSettings;
use crate::webhook_keys::GongKey;
use crate::webhook_keys::HmacSecret;
pub(super) use token::{bearer_credentials, same_secret};

/// How a request was admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    Token,
    GongJwt,
    /// Standard Webhooks, with the message's `webhook-id` (a duplicate key across retries).
    StandardWebhooks {
        webhook_id: String,
    },
    /// `webhook.allow_unauthenticated`, and no valid credentials.
    Unauthenticated,
}

impl Admitted {
    pub fn method(&self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::GongJwt => "gong_jwt",
            Self::StandardWebhooks { .. } => "standard_webhooks",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    pub fn webhook_id(&self) -> Option<&str> {
        match self {
            Self::StandardWebhooks { webhook_id } => Some(webhook_id),
            _ => None,
        }
    }
}

/// Why a request was refused: one reason per configured method that was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Vec<String>);

impl Refusal {
    pub fn message(&self) -> String {
        format!("no valid webhook credentials: {}", self.0.join("; "))
    }
}

/// The configured webhook authentication.
pub struct WebhookAuth {
    token: Option<SecretString>,
    gong_keys: Vec<GongKey>,
    hmac_secrets: Vec<HmacSecret>,
    public_url: Option<String>,
    jwt_leeway: Duration,
    allow_unauthenticated: bool,
}

impl WebhookAuth {
    pub fn from_settings(settings: &WebhookSettings) -> Self {
        Self {
            token: settings.token.clone(),
            gong_keys: settings.gong_public_keys.clone(),
            hmac_secrets: settings.hmac_secrets.clone(),
            public_url: settings.public_url.clone(),
            jwt_leeway: settings.jwt_leeway,
            allow_unauthenticated: settings.allow_unauthenticated,
        }
    }

    /// Admits the request if any configured method accepts it. `now` is Unix seconds.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        uri: &Uri,
        body: &[u8],
        now: i64,
    ) -> Result<Admitted, Refusal> {
        let mut reasons = Vec::new();
        if !self.hmac_secrets.is_empty() && standard_webhooks::is_present(headers) {
            match standard_webhooks::verify(headers, body, &self.hmac_secrets, now) {
                Ok(webhook_id) => return Ok(Admitted::StandardWebhooks { webhook_id }),
                Err(failure) => reasons.push(format!("Standard Webhooks: {failure}")),
            }
        }
        if !self.gong_keys.is_empty() {
            let jwts: Vec<&str> = token::authorization_values(headers)
                .into_iter()
                .filter(|value| gong_jwt::looks_like_jwt(value))
                .collect();
            for jwt in jwts {
                let url = self.public_url.as_deref();
                match gong_jwt::verify(jwt, &self.gong_keys, body, url, self.jwt_leeway) {
                    Ok(()) => return Ok(Admitted::GongJwt),
                    Err(failure) => reasons.push(format!("Gong JWT: {failure}")),
                }
            }
        }
        if let Some(expected) = &self.token {
            if token::presents(headers, uri, expected) {
                return Ok(Admitted::Token);
            }
        }
        if self.allow_unauthenticated {
            return Ok(Admitted::Unauthenticated);
        }
        if reasons.is_empty() {
            reasons.push(format!("expected {}", self.expected_credentials()));
        } else if self.token.is_some() {
            reasons.push("no matching token".into());
        }
        Err(Refusal(reasons))
    }

    fn expected_credentials(&self) -> String {
        let mut methods = Vec::new();
        if self.token.is_some() {
            methods.push("the token as `Authorization: Bearer <token>` or `?key=<token>`");
        }
        if !self.gong_keys.is_empty() {
            methods.push("a Gong signed JWT in `Authorization`");
        }
        if !self.hmac_secrets.is_empty() {
            methods.push("Standard Webhooks signature headers (webhook-id, webhook-timestamp, webhook-signature)");
        }
        methods.join(", or ")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::digest::sha256_hex;

    const TOKEN: &str = "s3cret-token-0123456789";
    const HMAC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn settings() -> WebhookSettings {
        WebhookSettings {
            token: Some(SecretString::from(TOKEN)),
            gong_public_keys: vec![
                GongKey::parse(&gong_jwt::tests::public_key_bare()).expect("key")
            ],
            hmac_secrets: vec![HmacSecret::parse(HMAC).expect("secret")],
            public_url: None,
            jwt_leeway: Duration::from_secs(60),
            allow_unauthenticated: false,
        }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[test]
    fn each_configured_method_admits_on_its_own() {
        let auth = WebhookAuth::from_settings(&settings());
        let body = b"{}";
        let uri: Uri = "/webhooks/gong".parse().expect("uri");

        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer s3cret-token-0123456789"),
        );
        assert_eq!(
            auth.verify(&headers, &uri, body, now()),
            Ok(Admitted::Token)
        );

        let jwt =
            gong_jwt::tests::sign(json!({"exp": now() + 60, "body_sha256": sha256_hex(body)}));
        let mut headers = HeaderMap::new();
        headers.insert("authorization", jwt.parse().expect("header"));
        assert_eq!(
            auth.verify(&headers, &uri, body, now()),
            Ok(Admitted::GongJwt)
        );

        let secret = HmacSecret::parse(HMAC).expect("secret");
        let timestamp = now().to_string();
        let signature = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            secret.sign("msg_1", &timestamp, body),
        );
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        headers.insert("webhook-timestamp", timestamp.parse().expect("header"));
        headers.insert(
            "webhook-signature",
            format!("v1,{signature}").parse().expect("header"),
        );
        assert_eq!(
            auth.verify(&headers, &uri, body, now()),
            Ok(Admitted::StandardWebhooks {
                webhook_id: "msg_1".into()
            })
        );
    }

    #[test]
    fn refusals_say_what_failed_without_echoing_secrets() {
        let auth = WebhookAuth::from_settings(&settings());
        let uri: Uri = "/webhooks/gong".parse().expect("uri");
        let refusal = auth
            .verify(&HeaderMap::new(), &uri, b"{}", now())
            .expect_err("refused");
        assert!(
            refusal.message().contains("expected the token"),
            "{}",
            refusal.message()
        );

        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
        let refusal = auth
            .verify(&headers, &uri, b"{}", now())
            .expect_err("refused");
        assert!(
            refusal
                .message()
                .contains("webhook-timestamp header is missing"),
            "{}",
            refusal.message()
        );
        assert!(!refusal.message().contains(TOKEN));
    }
}
