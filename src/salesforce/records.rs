//! Records in bulk: SOQL reads of fields and of related-list rows, and sObject Collections
//! updates and creates, 200 records per request, each record succeeding or failing alone.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::coalesce::Outcome;
use super::types::{CollectionError, CollectionResult, QueryPage};
use super::{SalesforceClient, SalesforceError, MAX_RECORDS_PER_REQUEST};
use crate::sync::{COMPETITOR_ROWS, ROW_NAME_FIELD, ROW_PARENT_FIELD};

/// New field values for one record.
#[derive(Debug, Clone)]
pub struct RecordUpdate {
    pub object: String,
    pub record_id: String,
    pub values: Map<String, Value>,
}

/// A new record: its object and field values.
#[derive(Debug, Clone)]
pub struct RecordCreate {
    pub object: String,
    pub values: Map<String, Value>,
}

impl RecordCreate {
    /// A row of `opportunity_id`'s Competitors related list naming `name`.
    pub fn competitor_row(opportunity_id: &str, name: &str) -> Self {
        let mut values = Map::new();
        values.insert(ROW_PARENT_FIELD.into(), json!(opportunity_id));
        values.insert(ROW_NAME_FIELD.into(), json!(name));
        Self {
            object: COMPETITOR_ROWS.into(),
            values,
        }
    }
}

/// A record as a collection request carries it: its object and fields.
pub(super) type CollectionRecord = (String, Map<String, Value>);

/// What Salesforce made of one record of a collection request: the id it gives the record,
/// or why it refused it.
pub(super) type RecordOutcome = Result<Option<String>, RecordFailure>;

/// Why Salesforce refused one record of a collection request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RecordFailure {
    pub code: String,
    pub message: String,
}

/// The code of a value a restricted picklist does not (or no longer) list.
const RESTRICTED_PICKLIST: &str = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST";

impl RecordFailure {
    fn new(code: &str, message: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }

    fn of(errors: &[CollectionError]) -> Self {
        errors.first().map_or_else(
            || Self::new("UNKNOWN", "no error given"),
            |e| Self::new(&e.status_code, &e.message),
        )
    }

    /// Another transaction held the record, or the org was briefly unavailable: try again.
    /// Anything else (deleted, bad id, rejected value) will fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" | "REQUEST_LIMIT_EXCEEDED"
        )
    }

    /// The values sent were those of a describe older than the org's picklist: try again
    /// with a fresh describe.
    pub fn is_stale_picklist(&self) -> bool {
        self.code == RESTRICTED_PICKLIST
    }
}

fn missing_result() -> RecordFailure {
    RecordFailure::new(
        "MISSING_RESULT",
        "Salesforce returned no result for this record",
    )
}

fn field_text(record: &Map<String, Value>, field: &str) -> Option<String> {
    // Salesforce answers with the field's canonical spelling.
    record
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(field))
        .and_then(|(_, value)| match value {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        })
}

fn id15(record: &Map<String, Value>, field: &str) -> String {
    field_text(record, field)
        .map(|id| id.chars().take(15).collect())
        .unwrap_or_default()
}

impl SalesforceClient {
    /// Current values of `fields` on the `object` records `ids`, keyed by the 15-character
    /// form of each id (Salesforce answers with 18-character ids). One SOQL query per 200 ids.
    pub async fn query_fields(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<HashMap<String, HashMap<String, Option<String>>>, SalesforceError> {
        let mut found = HashMap::new();
        for record in self.select_where_in(object, fields, "Id", ids).await? {
            let values = fields
                .iter()
                .map(|field| ((*field).to_owned(), field_text(&record, field)))
                .collect();
            found.insert(id15(&record, "Id"), values);
        }
        Ok(found)
    }

    /// The names of the Competitors related list rows of each Opportunity of `ids`, keyed by
    /// the 15-character form of its id. One SOQL query per 200 Opportunities.
    pub async fn competitor_rows(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, SalesforceError> {
        let mut rows: HashMap<String, Vec<String>> = HashMap::new();
        let fields = [ROW_PARENT_FIELD, ROW_NAME_FIELD];
        let records = self
            .select_where_in(COMPETITOR_ROWS, &fields, ROW_PARENT_FIELD, ids)
            .await?;
        for record in records {
            let name = field_text(&record, ROW_NAME_FIELD).unwrap_or_default();
            rows.entry(id15(&record, ROW_PARENT_FIELD))
                .or_default()
                .push(name);
        }
        Ok(rows)
    }

    /// `SELECT Id, fields FROM object WHERE key IN (ids)`, 200 ids per query, every page.
    async fn select_where_in(
        &self,
        object: &str,
        fields: &[&str],
        key: &str,
        ids: &[&str],
    ) -> Result<Vec<Map<String, Value>>, SalesforceError> {
        let mut records = Vec::new();
        let mut selected = vec!["Id"];
        selected.extend(fields.iter().filter(|f| !f.eq_ignore_ascii_case("Id")));
        for chunk in ids.chunks(MAX_RECORDS_PER_REQUEST) {
            // Ids and names were validated (letters, digits, underscores): nothing to escape.
            let quoted: Vec<String> = chunk.iter().map(|id| format!("'{id}'")).collect();
            let soql = format!(
                "SELECT {} FROM {object} WHERE {key} IN ({})",
                selected.join(", "),
                quoted.join(",")
            );
            let mut next = Some(format!("/services/data/{}/query", self.api_version));
            let mut query = Some(soql);
            while let Some(path) = next.take() {
                let q = query.take();
                let response = self
                    .send(|token| {
                        let request = self.http.get(format!("{}{path}", token.instance_url));
                        match &q {
                            Some(q) => request.query(&[("q", q.as_str())]),
                            None => request,
                        }
                    })
                    .await?;
                let page: QueryPage = response
                    .json()
                    .await
                    .map_err(|e| SalesforceError::Decode(format!("query of {object}: {e}")))?;
                records.extend(page.records);
                next = page.next_records_url.filter(|_| !page.done);
            }
        }
        Ok(records)
    }

    /// Writes many records through sObject Collections, 200 per request, `allOrNone: false`:
    /// each record succeeds or fails on its own. Returns one result per update, in order. An
    /// error for a whole request (outage, limit, credentials) is returned as `Err`.
    pub async fn update_records(
        &self,
        updates: &[RecordUpdate],
    ) -> Result<Vec<Result<(), RecordFailure>>, SalesforceError> {
        let records = updates
            .iter()
            .map(|update| {
                let mut record = Map::new();
                record.insert("id".into(), json!(update.record_id));
                record.extend(update.values.clone());
                (update.object.clone(), record)
            })
            .collect();
        let results = self.collections(Method::PATCH, records).await?;
        Ok(results.into_iter().map(|result| result.map(drop)).collect())
    }

    /// Creates many records through sObject Collections, 200 per request, `allOrNone:
    /// false`. Returns each new record's id, or why it was refused, in order.
    pub async fn create_records(
        &self,
        creates: &[RecordCreate],
    ) -> Result<Vec<Result<String, RecordFailure>>, SalesforceError> {
        let records = creates
            .iter()
            .map(|create| (create.object.clone(), create.values.clone()))
            .collect();
        let results = self.collections(Method::POST, records).await?;
        Ok(results
            .into_iter()
            .map(|result| {
                result?.ok_or_else(|| {
                    RecordFailure::new("UNKNOWN", "Salesforce gave no id for the record created")
                })
            })
            .collect())
    }

    /// sObject Collections requests (`PATCH` updates, `POST` creates) for `(object, fields)`
    /// records: one result per record, in order, with the id Salesforce gives it. Records
    /// handed in while another batch's request of the same kind is in flight go with the
    /// next one (see `coalesce`).
    async fn collections(
        &self,
        method: Method,
        records: Vec<CollectionRecord>,
    ) -> Result<Vec<RecordOutcome>, SalesforceError> {
        let coalescer = match method {
            Method::POST => &self.creates,
            _ => &self.updates,
        };
        coalescer
            .submit(records, |group| self.send_collections(&method, group))
            .await
    }

    /// `records` in requests of 200; each record's outcome, or the error of its request.
    /// After a request fails the rest are not sent (an outage or a pause would refuse them
    /// too): their records get that error.
    async fn send_collections(
        &self,
        method: &Method,
        records: Vec<CollectionRecord>,
    ) -> Vec<Outcome<RecordOutcome, SalesforceError>> {
        let mut outcomes = Vec::with_capacity(records.len());
        for chunk in records.chunks(MAX_RECORDS_PER_REQUEST) {
            match self.send_collection(method, chunk).await {
                Ok(answers) => outcomes.extend(answers.into_iter().map(Ok)),
                Err(error) => {
                    let unsent = records.len() - outcomes.len();
                    outcomes.extend(std::iter::repeat_n(Err(error), unsent));
                    break;
                }
            }
        }
        outcomes
    }

    /// One sObject Collections request of at most 200 records.
    async fn send_collection(
        &self,
        method: &Method,
        chunk: &[CollectionRecord],
    ) -> Result<Vec<RecordOutcome>, SalesforceError> {
        let records: Vec<Value> = chunk
            .iter()
            .map(|(object, fields)| {
                let mut record = Map::new();
                record.insert("attributes".into(), json!({ "type": object }));
                record.extend(fields.clone());
                Value::Object(record)
            })
            .collect();
        let body = json!({ "allOrNone": false, "records": records });
        let response = self
            .send(|token| {
                self.http
                    .request(
                        method.clone(),
                        format!(
                            "{}/services/data/{}/composite/sobjects",
                            token.instance_url, self.api_version
                        ),
                    )
                    .json(&body)
            })
            .await?;
        let outcomes: Vec<CollectionResult> = response
            .json()
            .await
            .map_err(|e| SalesforceError::Decode(format!("collection {method}: {e}")))?;
        // The answer lists the records in the order they were sent.
        Ok((0..chunk.len())
            .map(|index| match outcomes.get(index) {
                Some(outcome) if outcome.success => Ok(outcome.id.clone()),
                Some(outcome) => Err(RecordFailure::of(&outcome.errors)),
                None => Err(missing_result()),
            })
            .collect())
    }
}
