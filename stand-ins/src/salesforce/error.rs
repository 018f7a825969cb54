//! Refusals in Salesforce's terms.

use std::borrow::Cow;

use axum::http::StatusCode;
use serde_json::{json, Value};

/// A refusal in Salesforce's terms. REST errors carry the code as `errorCode`, sObject
/// Collections results as `statusCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub fields: Vec<String>,
}

impl SfError {
    pub fn new(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub(super) fn on_field(code: &'static str, message: impl Into<String>, field: &str) -> Self {
        Self {
            fields: vec![field.to_owned()],
            ..Self::new(code, message)
        }
    }

    /// One element of a REST error array.
    pub(super) fn rest_json(&self) -> Value {
        json!({ "message": self.message, "errorCode": self.code, "fields": self.fields })
    }

    /// One element of a collection result's `errors`.
    pub(super) fn collection_json(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }

    /// The status Salesforce answers a record-level error with, on its own (not in a
    /// collection).
    pub(super) fn status(&self) -> StatusCode {
        match self.code.as_ref() {
            "NOT_FOUND" => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
