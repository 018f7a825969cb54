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

/// `GET /sobjects/{object}/describe`, the parts read here.
#[derive(Debug, Deserialize)]
pub struct Describe {
    /// Whether the integration user may create records of the object.
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub fields: Vec<DescribeField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeField {
    pub name: String,
    #[serde(default, rename = "type")]
    pub field_type: String,
    /// Maximum characters for text fields; 0 for types without a length.
    #[serde(default)]
    pub length: usize,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub createable: bool,
    /// A picklist's values, active and not; empty for other types.
    #[serde(default)]
    pub picklist_values: Vec<PicklistEntry>,
}

/// One of `picklistValues`: `{"active": true, "label": "Clari", "value": "Clari", …}`.
#[derive(Debug, Clone, Deserialize)]
pub struct PicklistEntry {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub active: bool,
}

/// `GET /query` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    #[serde(default)]
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
    #[serde(default = "default_true")]
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
}

fn default_true() -> bool {
    true
}

/// One element of an sObject Collections answer, to an update or a create: the record's id
/// (the new one, for a create) on success.
#[derive(Debug, Deserialize)]
pub struct CollectionResult {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<CollectionError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionError {
    #[serde(default)]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
}
