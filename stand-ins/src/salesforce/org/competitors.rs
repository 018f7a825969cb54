//! The org's Competitors related lists through the API: sObject Collections creates and
//! updates of OpportunityCompetitor rows (per-record results, scripted failures), reads,
//! deletes and queries; and rows a person made, for seeds and tests.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::collections::{collection_results, record_type};
use super::rows::{CompetitorRow, NewRow};
use super::{salesforce_datetime, same_record, Org};
use crate::salesforce::competitor::{self, RowChanges};
use crate::salesforce::error::SfError;
use crate::salesforce::fields::Write;
use crate::salesforce::is_id;
use crate::salesforce::soql::{FilterField, Query};

impl Org {
    /// A row a person added to the Competitors related list of `opportunity_id` (not counted
    /// as created through the API); returns its id.
    pub fn add_competitor_row(
        &mut self,
        opportunity_id: &str,
        name: &str,
        strengths: Option<&str>,
    ) -> String {
        let at = salesforce_datetime(OffsetDateTime::now_utc());
        let row = NewRow {
            opportunity_id,
            name,
            strengths,
            weaknesses: None,
            by_api: false,
        };
        self.rows.add(&row, &at)
    }

    /// The Competitors related list of the Opportunity `opportunity_id` names (either id
    /// form), oldest row first.
    pub fn competitor_rows(&self, opportunity_id: &str) -> Vec<&CompetitorRow> {
        self.rows
            .all()
            .iter()
            .filter(|row| same_record(&row.opportunity_id, opportunity_id))
            .collect()
    }

    /// Rows created through the API.
    pub fn rows_created(&self) -> usize {
        self.rows.created()
    }

    /// Rows updated or deleted through the API: either one changes a list a person may have
    /// filled, which the service must never do.
    pub fn row_updates(&self) -> usize {
        self.rows.changed()
    }

    /// The next `times` creates of a row for `opportunity_id` (as sent) fail with `error`;
    /// the creates after those succeed.
    pub fn fail_next_create(&mut self, opportunity_id: &str, error: SfError, times: usize) {
        self.scripted_creates
            .insert(opportunity_id.to_owned(), vec![error; times]);
    }

    /// `POST /composite/sobjects`: one result per record, in order. With `all_or_none`, one
    /// invalid record leaves every row uncreated.
    pub(in crate::salesforce) fn create_collection(
        &mut self,
        records: &[Value],
        all_or_none: bool,
        now: OffsetDateTime,
    ) -> Vec<Value> {
        let checked: Vec<_> = records
            .iter()
            .map(|record| (Value::Null, self.check_create(record)))
            .collect();
        collection_results(
            checked,
            all_or_none,
            |changes| Ok(self.create(changes, now)),
        )
    }

    /// A create's row values, or why Salesforce would refuse the record.
    fn check_create(&mut self, record: &Value) -> Result<RowChanges, SfError> {
        let fields = record
            .as_object()
            .ok_or_else(|| SfError::new("JSON_PARSER_ERROR", "each record must be an object"))?;
        let kind = record_type(record)?;
        if !kind.eq_ignore_ascii_case(competitor::OBJECT) {
            return Err(SfError::new(
                "INVALID_TYPE",
                format!(
                    "sObject type '{kind}' is not supported for create: this org creates {} records only.",
                    competitor::OBJECT
                ),
            ));
        }
        let changes = competitor::changes(fields, Write::Create)?;
        let opportunity = changes.opportunity_id.as_deref().unwrap_or_default();
        if !self.has_opportunity(opportunity) {
            return Err(SfError::on_field(
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                competitor::OPPORTUNITY_ID,
            ));
        }
        match self
            .scripted_creates
            .get_mut(opportunity)
            .and_then(Vec::pop)
        {
            Some(error) => Err(error),
            None => Ok(changes),
        }
    }

    /// Whether `id` is an Opportunity's id (`006…`) naming an Opportunity of the org: in an
    /// open org, every well-formed one does.
    fn has_opportunity(&self, id: &str) -> bool {
        id.starts_with("006") && is_id(id) && (self.open || matches!(self.find(id), Ok(Some(_))))
    }

    /// Creates a checked row through the API; returns its id.
    fn create(&mut self, changes: RowChanges, now: OffsetDateTime) -> String {
        let opportunity_id = changes.opportunity_id.unwrap_or_default();
        let name = changes.name.unwrap_or_default();
        let opportunity = match self.find(&opportunity_id) {
            Ok(Some(index)) => self.records[index].text("Name").unwrap_or_default(),
            _ => "",
        };
        tracing::info!(
            opportunity = opportunity_id,
            "Salesforce: OpportunityCompetitor created on {}: {name}",
            if opportunity.is_empty() {
                &opportunity_id
            } else {
                opportunity
            }
        );
        let (strengths, weaknesses) = (changes.strengths.flatten(), changes.weaknesses.flatten());
        let row = NewRow {
            opportunity_id: &opportunity_id,
            name: &name,
            strengths: strengths.as_deref(),
            weaknesses: weaknesses.as_deref(),
            by_api: true,
        };
        self.rows.add(&row, &salesforce_datetime(now))
    }

    /// The row `id` names and an update's changes to it, if Salesforce would take them.
    pub(super) fn check_row_update(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
    ) -> Result<(usize, RowChanges), SfError> {
        let index = self.row(id)?.ok_or_else(|| {
            SfError::new("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        })?;
        self.take_scripted(id)?;
        Ok((index, competitor::changes(changes, Write::Update)?))
    }

    /// `PATCH /sobjects/OpportunityCompetitor/{id}`: all changes or none.
    pub(in crate::salesforce) fn update_row(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), SfError> {
        let index = self.row(id)?.ok_or_else(not_found)?;
        self.take_scripted(id)?;
        let changes = competitor::changes(changes, Write::Update)?;
        self.rows.update(index, changes, &salesforce_datetime(now));
        Ok(())
    }

    /// `GET /sobjects/OpportunityCompetitor/{id}` with the `fields` asked for (all when
    /// `None`).
    pub(in crate::salesforce) fn read_row(
        &self,
        id: &str,
        fields: Option<&[String]>,
    ) -> Result<Value, SfError> {
        let index = self.row(id)?.ok_or_else(not_found)?;
        let names: Vec<&str> = match fields {
            Some(fields) => fields
                .iter()
                .map(|name| competitor::field(name))
                .collect::<Result<_, _>>()?,
            None => competitor::all_fields().collect(),
        };
        Ok(self.rows.get(index).render(&names))
    }

    /// `DELETE /sobjects/OpportunityCompetitor/{id}`.
    pub(in crate::salesforce) fn delete_row(&mut self, id: &str) -> Result<(), SfError> {
        let index = self.row(id)?.ok_or_else(not_found)?;
        self.rows.delete(index);
        Ok(())
    }

    /// The row `id` names, if there is one.
    fn row(&self, id: &str) -> Result<Option<usize>, SfError> {
        if !is_id(id) {
            return Err(SfError::new("MALFORMED_ID", format!("malformed id {id}")));
        }
        Ok(self.rows.find(id))
    }

    /// The rows a query on OpportunityCompetitor selects, oldest first.
    pub(super) fn query_rows(&self, query: &Query) -> Result<Vec<Value>, SfError> {
        let names: Vec<&str> = query
            .fields
            .iter()
            .map(|name| competitor::field(name))
            .collect::<Result<_, _>>()?;
        if let Some(filter) = &query.filter {
            if let Some(bad) = filter.values.iter().find(|value| !is_id(value)) {
                return Err(SfError::new(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid ID field: {bad}"),
                ));
            }
        }
        let selected = self.rows.all().iter().filter(|row| {
            query.filter.as_ref().is_none_or(|filter| {
                let id = match filter.field {
                    FilterField::Id => &row.id,
                    FilterField::OpportunityId => &row.opportunity_id,
                };
                filter.values.iter().any(|value| same_record(id, value))
            })
        });
        Ok(selected
            .take(query.limit.unwrap_or(usize::MAX))
            .map(|row| row.render(&names))
            .collect())
    }
}

fn not_found() -> SfError {
    SfError::new("NOT_FOUND", "The requested resource does not exist")
}
