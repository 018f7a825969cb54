//! What the org says of the rules' targets: each object's describe, fetched once and kept
//! until a write shows it is stale (a picklist's values changed), and read into the
//! domain's [`FieldShape`].

use std::sync::Arc;

use super::types::{Describe, DescribeField};
use super::{SalesforceClient, SalesforceError};
use crate::sync::{
    FieldKind, FieldShape, PicklistValue, COMPETITOR_ROWS, ROW_NAME_FIELD, ROW_PARENT_FIELD,
};

/// A field found writable: its type as Salesforce names it, and its shape.
#[derive(Debug, Clone)]
pub struct WritableField {
    pub type_name: String,
    pub shape: FieldShape,
}

/// The Competitors related list, found creatable: how long a row's name may be.
#[derive(Debug, Clone, Copy)]
pub struct CreatableRows {
    pub name_max_chars: Option<usize>,
}

impl SalesforceClient {
    /// The described field `field` of `object`, checked to be updateable.
    pub async fn writable_field(
        &self,
        object: &str,
        field: &str,
    ) -> Result<WritableField, SalesforceError> {
        let describe = self.described(object).await?;
        let found = find_field(&describe, object, field)?;
        if !found.updateable {
            return Err(unusable(
                object,
                field,
                "the integration user may not update it (field-level security or a formula field)",
            ));
        }
        Ok(WritableField {
            type_name: found.field_type.clone(),
            shape: shape_of(found),
        })
    }

    /// The `OpportunityCompetitor` object, checked to take new rows: the object, its
    /// Opportunity reference and its name field must be creatable.
    pub async fn creatable_rows(&self) -> Result<CreatableRows, SalesforceError> {
        let describe = self.described(COMPETITOR_ROWS).await?;
        if !describe.createable {
            return Err(unusable(
                COMPETITOR_ROWS,
                ROW_NAME_FIELD,
                "the integration user may not create OpportunityCompetitor records (object permissions)",
            ));
        }
        let parent = find_field(&describe, COMPETITOR_ROWS, ROW_PARENT_FIELD)?;
        let name = find_field(&describe, COMPETITOR_ROWS, ROW_NAME_FIELD)?;
        if let Some(field) = [parent, name].into_iter().find(|field| !field.createable) {
            return Err(unusable(
                COMPETITOR_ROWS,
                &field.name,
                "the integration user may not set it on new rows (field-level security)",
            ));
        }
        Ok(CreatableRows {
            name_max_chars: (name.length > 0).then_some(name.length),
        })
    }

    /// Drops the kept describe of `object`: the next use fetches it again.
    pub async fn forget_describe(&self, object: &str) {
        self.describes
            .lock()
            .await
            .remove(&object.to_ascii_lowercase());
    }

    /// The object's describe, fetched on first use and kept.
    async fn described(&self, object: &str) -> Result<Arc<Describe>, SalesforceError> {
        let mut cache = self.describes.lock().await;
        if let Some(describe) = cache.get(&object.to_ascii_lowercase()) {
            return Ok(Arc::clone(describe));
        }
        let describe = Arc::new(self.describe(object).await?);
        cache.insert(object.to_ascii_lowercase(), Arc::clone(&describe));
        Ok(describe)
    }

    async fn describe(&self, object: &str) -> Result<Describe, SalesforceError> {
        let response = self
            .send(|token| {
                self.http.get(format!(
                    "{}/services/data/{}/sobjects/{object}/describe",
                    token.instance_url, self.api_version
                ))
            })
            .await?;
        response
            .json()
            .await
            .map_err(|e| SalesforceError::Decode(format!("describe of {object}: {e}")))
    }
}

fn find_field<'a>(
    describe: &'a Describe,
    object: &str,
    field: &str,
) -> Result<&'a DescribeField, SalesforceError> {
    describe
        .fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(field))
        .ok_or_else(|| {
            unusable(
                object,
                field,
                "no such field in the object's describe (check sync.rules field names)",
            )
        })
}

fn unusable(object: &str, field: &str, reason: &str) -> SalesforceError {
    SalesforceError::FieldUnusable {
        object: object.to_owned(),
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The domain's view of a described field: a picklist's active values, or text and its length.
fn shape_of(field: &DescribeField) -> FieldShape {
    let max_chars = (field.length > 0).then_some(field.length);
    let multi = match field.field_type.as_str() {
        "multipicklist" => true,
        "picklist" => false,
        _ => {
            return FieldShape {
                max_chars,
                kind: FieldKind::Text,
            }
        }
    };
    let values = field
        .picklist_values
        .iter()
        .filter(|entry| entry.active)
        .map(|entry| PicklistValue {
            value: entry.value.clone(),
            label: entry.label.clone().unwrap_or_else(|| entry.value.clone()),
        })
        .collect();
    FieldShape {
        max_chars,
        kind: FieldKind::Picklist { multi, values },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: serde_json::Value) -> DescribeField {
        serde_json::from_value(json).expect("a describe field")
    }

    #[test]
    fn a_picklist_offers_its_active_values_and_text_its_length() {
        let picklist = field(serde_json::json!({
            "name": "Competitors__c", "type": "multipicklist", "length": 4099,
            "updateable": true, "restrictedPicklist": true,
            "picklistValues": [
                {"active": true, "defaultValue": false, "label": "Clari", "validFor": null, "value": "Clari"},
                {"active": false, "defaultValue": false, "label": "XANT", "validFor": null, "value": "XANT"},
                {"active": true, "defaultValue": false, "label": "Chorus", "validFor": null, "value": "Chorus_Ai"}
            ]
        }));
        let FieldKind::Picklist { multi, values } = shape_of(&picklist).kind else {
            panic!("a picklist");
        };
        assert!(multi);
        let offered: Vec<(&str, &str)> = values
            .iter()
            .map(|v| (v.value.as_str(), v.label.as_str()))
            .collect();
        assert_eq!(offered, [("Clari", "Clari"), ("Chorus_Ai", "Chorus")]);
        let text = field(
            serde_json::json!({"name": "Main_Competitors__c", "type": "string", "length": 255}),
        );
        assert_eq!(
            shape_of(&text),
            FieldShape {
                max_chars: Some(255),
                kind: FieldKind::Text
            }
        );
    }
}
