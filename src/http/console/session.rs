//! Console sessions: signing in once with the admin token gives a cookie that proves it for
//! a while, and a CSRF token for every form of that session.
//!
//! Both are MACs under a key derived from the admin token, so every replica that shares the
//! token accepts them and nothing is stored; changing `admin.token` ends every session.
//! Signing out clears the browser's cookie.

use std::time::Duration;

use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::digest::hex;

/// The session cookie's name.
pub const COOKIE: &str = "competitor_sync_console";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

type HmacSha256 = Hmac<Sha256>;

/// The keys of the console's MACs, derived from the admin token.
pub struct SessionKeys {
    key: [u8; 32],
    admin_token: SecretString,
    /// `webhook.public_url` is https: cookies are `Secure` whatever the request says.
    always_secure: bool,
}

/// A signed-in session: its cookie value, and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
}

impl SessionKeys {
    pub fn new(admin_token: SecretString, always_secure: bool) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"competitor-sync console session key\0");
        digest.update(admin_token.expose_secret().as_bytes());
        Self {
            key: digest.finalize().into(),
            admin_token,
            always_secure,
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        // A 32-byte key is always accepted.
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else {
            return String::new();
        };
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `presented` is the admin token (constant time).
    pub fn is_admin_token(&self, presented: &str) -> bool {
        crate::http::auth::same_secret(presented, &self.admin_token)
    }

    /// A new session's cookie, valid for [`LIFETIME`] from `now` (Unix seconds).
    pub fn new_cookie(&self, now: i64, headers: &HeaderMap) -> Cookie<'static> {
        let expires = now + i64::try_from(LIFETIME.as_secs()).unwrap_or(i64::MAX);
        let nonce: [u8; 16] = rand::rng().random();
        let nonce = hex(&nonce);
        let expires = expires.to_string();
        let value = format!(
            "{expires}.{nonce}.{}",
            self.mac(&["session", &expires, &nonce])
        );
        self.cookie(value, LIFETIME, headers)
    }

    /// The cookie that ends the session in the browser.
    pub fn clearing_cookie(&self, headers: &HeaderMap) -> Cookie<'static> {
        self.cookie(String::new(), Duration::ZERO, headers)
    }

    fn cookie(&self, value: String, max_age: Duration, headers: &HeaderMap) -> Cookie<'static> {
        let max_age = time::Duration::try_from(max_age).unwrap_or(time::Duration::ZERO);
        Cookie::build((COOKIE, value))
            .path("/console")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.always_secure || came_over_https(headers))
            .max_age(max_age)
            .build()
    }

    /// The session the request's cookie proves, if it does and has not expired at `now`.
    pub fn session(&self, jar: &CookieJar, now: i64) -> Option<Session> {
        let value = jar.get(COOKIE)?.value();
        let mut fields = value.splitn(3, '.');
        let (expires, nonce, mac) = (fields.next()?, fields.next()?, fields.next()?);
        let expected = self.mac(&["session", expires, nonce]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return None;
        }
        if expires.parse::<i64>().ok()? <= now {
            return None;
        }
        Some(Session {
            csrf: self.mac(&["csrf", value]),
        })
    }
}

impl Session {
    /// Whether a form's `csrf` field is this session's token (constant time).
    pub fn accepts(&self, presented: &str) -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            self.csrf.as_bytes(),
            presented.as_bytes(),
        ))
    }
}

/// Behind a proxy that terminates TLS, the scheme the client used is in `X-Forwarded-Proto`.
fn came_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// Whether a state-changing request may come from where it says it comes from: a browser's
/// `Origin` (or `Sec-Fetch-Site`) must name this site. Requests without either (older
/// browsers, scripts) rely on the CSRF token and the `SameSite=Strict` cookie alone.
pub fn same_site_request(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.is_some_and(|host| {
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(SecretString::from("admin-token-0123456789"), false)
    }

    fn jar_with(cookie: Cookie<'static>) -> CookieJar {
        CookieJar::new().add(cookie)
    }

    #[test]
    fn a_session_lasts_its_lifetime_and_only_with_its_mac() {
        let keys = keys();
        let cookie = keys.new_cookie(1_000, &HeaderMap::new());
        assert!(cookie.http_only().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        let jar = jar_with(cookie.clone());
        let session = keys.session(&jar, 1_001).expect("valid");
        assert!(session.accepts(&session.csrf));
        assert!(!session.accepts("forged"));
        assert!(keys.session(&jar, 1_000 + 8 * 3600).is_none(), "expired");
        let other = SessionKeys::new(SecretString::from("another-token-0123456789"), false);
        assert!(
            other.session(&jar, 1_001).is_none(),
            "a new admin token ends it"
        );
        let tampered = cookie.value().replacen('1', "2", 1);
        assert!(keys
            .session(&jar_with(Cookie::new(COOKIE, tampered)), 1_001)
            .is_none());
    }

    #[test]
    fn cookies_are_secure_over_https() {
        let keys = keys();
        assert_eq!(keys.new_cookie(0, &HeaderMap::new()).secure(), Some(false));
        let mut https = HeaderMap::new();
        https.insert("x-forwarded-proto", "https".parse().expect("header"));
        assert_eq!(keys.new_cookie(0, &https).secure(), Some(true));
        let public = SessionKeys::new(SecretString::from("admin-token-0123456789"), true);
        assert_eq!(public.new_cookie(0, &HeaderMap::new()).secure(), Some(true));
    }
}
