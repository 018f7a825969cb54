//! The keys webhooks are authenticated with, parsed from their configured text: a Gong
//! webhook rule's public key and a Standard Webhooks secret. Apart from `http` so that
//! `config` parses them at load time without depending on the HTTP layer.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::DecodingKey;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// Standard Webhooks secrets and signatures are base64 with or without padding, and trailing
/// bits are not required to be zero: some relays print secrets unpadded, and the reference
/// (Python) library accepts them, so refusing them would only break a working setup.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A public key from a Gong webhook rule.
#[derive(Debug, Clone)]
pub struct GongKey(DecodingKey);

impl GongKey {
    /// Accepts PEM, or the bare base64 DER (SubjectPublicKeyInfo) Gong's "Show public key"
    /// displays.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().replace("\\n", "\n");
        let pem = if text.contains("-----BEGIN") {
            text
        } else {
            let bare: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let lines: Vec<&str> = bare
                .as_bytes()
                .chunks(64)
                .filter_map(|chunk| std::str::from_utf8(chunk).ok())
                .collect();
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                lines.join("\n")
            )
        };
        DecodingKey::from_rsa_pem(pem.as_bytes())
            .map(Self)
            .map_err(|_| "is not an RSA public key (PEM, or the base64 key Gong shows)".to_owned())
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.0
    }
}

/// A Standard Webhooks signing key, decoded.
#[derive(Debug, Clone)]
pub struct HmacSecret(SecretSlice<u8>);

impl HmacSecret {
    /// Parses `whsec_<base64>` (the prefix is optional).
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        let key = BASE64.decode(encoded).map_err(|_| {
            "is not a Standard Webhooks secret (whsec_ followed by base64)".to_owned()
        })?;
        if key.len() < 16 {
            return Err("is too short: a Standard Webhooks secret has at least 16 bytes".into());
        }
        Ok(Self(SecretSlice::from(key)))
    }

    /// The raw signature of a message, as `webhook-signature` carries it in base64.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_rsa_public_keys_are_refused() {
        assert!(GongKey::parse("not a key").is_err());
        assert!(GongKey::parse("").is_err());
    }

    #[test]
    fn malformed_secrets_are_refused() {
        assert!(HmacSecret::parse("whsec_not base64!").is_err());
        assert!(HmacSecret::parse("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn a_secret_debugs_as_redacted() {
        let secret = HmacSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        assert_eq!(
            format!("{secret:?}"),
            "HmacSecret(SecretBox<[u8]>([REDACTED]))"
        );
    }
}
