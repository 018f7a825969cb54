//! Salesforce wire types.

use serde::Deserialize;

/// Answer of `POST /services/oauth2/token`. There is no `expires_in`: a token is used until
/// Salesforce answers 401.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub instance_url: String,
    /// Present in the refresh-token flow when the connected app rotates refresh tokens.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// OAuth error: `{"error": "invalid_grant", "error_description": "..."}`.
#[derive(Debug, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// One element of a REST error array: `[{"message": "...", "errorCode": "...", "fields": []}]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub error_code: String,
}

/// JWT bearer assertion claims.
#[derive(serde::Serialize)]
pub struct JwtClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: i64,
}
