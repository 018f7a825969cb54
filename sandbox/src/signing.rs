//! Standard Webhooks signatures (standardwebhooks.com), as `fire` sends them: HMAC-SHA256
//! over `{id}.{timestamp}.{body}` with a `whsec_`-prefixed base64 key, in the
//! `webhook-signature` header as `v1,<base64>`.

use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Secrets with or without padding, trailing bits not required to be zero: the forms the
/// service accepts for its `webhook.hmac_secret`, so that one secret works on both sides.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A signing key, decoded. Not `Debug`: it is a secret, even a demo one.
pub struct Signer(Vec<u8>);

impl Signer {
    /// Parses `whsec_<base64>` (the prefix is optional). The message never quotes the text.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        let key = SECRET_BASE64
            .decode(encoded)
            .map_err(|_| "is not a Standard Webhooks secret (whsec_ followed by base64)")?;
        if key.len() < 16 {
            return Err("is too short: a Standard Webhooks secret has at least 16 bytes");
        }
        Ok(Self(key))
    }

    /// The `webhook-signature` header's value for a message.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> String {
        // HMAC takes keys of any length: new_from_slice cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sign vectors of the official Standard Webhooks libraries' test suites, as in
    /// tests/fixtures/vectors/standard-webhooks.official.json.
    #[test]
    fn signatures_match_the_official_test_vectors() {
        let vectors = [
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330",
                r#"{"test": 2432232314}"#,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
            (
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                "1649367553",
                r#"{"email":"test@example.com","username":"test_user"}"#,
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            ),
        ];
        for (secret, id, timestamp, payload, expected) in vectors {
            let signer = Signer::parse(secret).expect("a secret");
            assert_eq!(signer.sign(id, timestamp, payload.as_bytes()), expected);
        }
    }

    #[test]
    fn the_prefix_and_padding_are_optional_and_short_or_garbled_keys_refused() {
        let body = b"{}";
        let padded =
            Signer::parse("whsec_Y29tcGV0aXRvci1zeW5jLXNhbmRib3gtZGVtby1rZXk=").expect("secret");
        let bare = Signer::parse("Y29tcGV0aXRvci1zeW5jLXNhbmRib3gtZGVtby1rZXk").expect("secret");
        assert_eq!(padded.sign("m", "1", body), bare.sign("m", "1", body));
        assert!(Signer::parse("whsec_c2hvcnQ=").is_err(), "5 bytes");
        assert!(Signer::parse("whsec_not base64!").is_err());
    }
}
