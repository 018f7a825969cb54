//! The org's data: Opportunity records found by either form of their id, read and written
//! with the checks of its [`Schema`] and its picklists, sObject Collections' per-record
//! results, scripted failures, and the SOQL the service sends; the Competitors related lists
//! ([`rows`], [`competitors`]); sObject Collections updates of both ([`collections`]).

mod collections;
mod competitors;
mod rows;

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

pub use rows::CompetitorRow;

use super::competitor;
use super::error::SfError;
use super::fields::{self, Changes, Schema, ID, LAST_MODIFIED};
use super::picklist::{PicklistValue, Picklists};
use super::soql::{FilterField, Query};
use super::{is_id, OBJECT};
use crate::seed;

/// One Opportunity: its field values by API name, and how often it was written.
pub struct Record {
    pub values: Map<String, Value>,
    pub writes: u32,
}

impl Record {
    fn empty(id: &str) -> Self {
        let mut values = Map::new();
        values.insert(ID.into(), json!(id));
        Self { values, writes: 0 }
    }

    pub fn id(&self) -> &str {
        self.text(ID).unwrap_or_default()
    }

    pub fn text(&self, field: &str) -> Option<&str> {
        self.values.get(field).and_then(Value::as_str)
    }
}

pub struct Org {
    schema: Schema,
    /// Whether every well-formed id names a record, empty until written. The benchmark's and
    /// the tests' calls each link an Opportunity of their own, which no seed could list.
    open: bool,
    records: Vec<Record>,
    /// Indexes into `records` by the 15-character form of their id.
    by_prefix: HashMap<String, Vec<usize>>,
    /// Per id as sent, the errors its next writes get, last first.
    scripted: HashMap<String, Vec<SfError>>,
    /// Per Opportunity id as sent, the errors the next creates of its rows get, last first.
    scripted_creates: HashMap<String, Vec<SfError>>,
    picklists: Picklists,
    rows: rows::Rows,
}

impl Org {
    /// The sandbox's org: the seeded Opportunities, no others, with the standard schema,
    /// and the rows people added to their Competitors related lists.
    pub fn seeded(today: OffsetDateTime) -> Self {
        let mut org = Self::new(Schema::Standard, false);
        let created = salesforce_datetime(today - time::Duration::days(45));
        for mut values in seed::opportunity_records(today) {
            values.insert(LAST_MODIFIED.into(), json!(created));
            org.insert(Record { values, writes: 0 });
        }
        for (opportunity_id, row) in seed::competitor_rows() {
            let row = rows::NewRow {
                opportunity_id,
                name: row.name,
                strengths: row.strengths,
                weaknesses: None,
                by_api: false,
            };
            org.rows.add(&row, &created);
        }
        org
    }

    /// An org in which every well-formed id names an Opportunity, empty until written.
    pub fn open(schema: Schema) -> Self {
        Self::new(schema, true)
    }

    fn new(schema: Schema, open: bool) -> Self {
        Self {
            schema,
            open,
            records: Vec::new(),
            by_prefix: HashMap::new(),
            scripted: HashMap::new(),
            scripted_creates: HashMap::new(),
            picklists: Picklists::standard(),
            rows: rows::Rows::default(),
        }
    }

    /// `GET /sobjects/{object}/describe` with the org's current picklist values, for the
    /// objects the org has.
    pub fn describe(&self, object: &str) -> Option<Value> {
        if object.eq_ignore_ascii_case(OBJECT) {
            Some(fields::describe(&self.picklists))
        } else if object.eq_ignore_ascii_case(competitor::OBJECT) {
            Some(competitor::describe())
        } else {
            None
        }
    }

    /// The values of the Opportunity's picklist `field`, active and inactive.
    pub fn picklist(&self, field: &str) -> Option<&[PicklistValue]> {
        self.picklists.values(field)
    }

    /// Makes `active` the active values of the Opportunity's picklist `field`, as an admin
    /// editing it would: values left out become inactive (still listed), new ones are
    /// appended. INVALID_FIELD when `field` is not a picklist.
    pub fn set_picklist(&mut self, field: &str, active: &[&str]) -> Result<(), SfError> {
        if self.picklists.set(field, active) {
            Ok(())
        } else {
            Err(SfError::on_field(
                "INVALID_FIELD",
                format!("No picklist field '{field}' on sobject of type {OBJECT}"),
                field,
            ))
        }
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Record writes that succeeded, over all records.
    pub fn writes(&self) -> usize {
        self.records
            .iter()
            .map(|record| usize::try_from(record.writes).unwrap_or(usize::MAX))
            .sum()
    }

    /// Records written at least once.
    pub fn written(&self) -> usize {
        self.records
            .iter()
            .filter(|record| record.writes > 0)
            .count()
    }

    /// A field's value on the record `id` names, if the record holds one.
    pub fn value(&self, id: &str, field: &str) -> Option<&Value> {
        let index = self.find(id).ok()??;
        let field = self.schema.field(field).ok()?;
        self.records[index].values.get(&field)
    }

    /// Gives a record a value as data already in the org (not counted as a write).
    pub fn set(&mut self, id: &str, field: &str, value: Value) -> Result<(), SfError> {
        let field = self.schema.field(field)?;
        let index = self.find_or_create(id)?;
        self.records[index].values.insert(field, value);
        Ok(())
    }

    /// The next `times` writes of `id` (as sent) fail with `error`, as a validation rule or
    /// a trigger would make them; the writes after those succeed.
    pub fn fail_next(&mut self, id: &str, error: SfError, times: usize) {
        self.scripted.insert(id.to_owned(), vec![error; times]);
    }

    fn insert(&mut self, record: Record) -> usize {
        let index = self.records.len();
        let prefix = record.id().get(..15).unwrap_or_default().to_owned();
        self.by_prefix.entry(prefix).or_default().push(index);
        self.records.push(record);
        index
    }

    /// The record `id` names (15- or 18-character form), if there is one.
    fn find(&self, id: &str) -> Result<Option<usize>, SfError> {
        if !is_id(id) {
            return Err(SfError::new("MALFORMED_ID", format!("malformed id {id}")));
        }
        Ok(self.by_prefix.get(&id[..15]).and_then(|indexes| {
            indexes
                .iter()
                .copied()
                .find(|&index| same_record(self.records[index].id(), id))
        }))
    }

    /// The record `id` names, created empty if the org is open.
    fn find_or_create(&mut self, id: &str) -> Result<usize, SfError> {
        match self.find(id)? {
            Some(index) => Ok(index),
            None if self.open => Ok(self.insert(Record::empty(id))),
            None => Err(SfError::new(
                "NOT_FOUND",
                "The requested resource does not exist",
            )),
        }
    }

    /// A record with the `fields` asked for (all when `None`), as the REST API returns it.
    pub(super) fn read(&self, id: &str, fields: Option<&[String]>) -> Result<Value, SfError> {
        let empty;
        let record = match self.find(id)? {
            Some(index) => &self.records[index],
            None if self.open => {
                empty = Record::empty(id);
                &empty
            }
            None => {
                return Err(SfError::new(
                    "NOT_FOUND",
                    "The requested resource does not exist",
                ))
            }
        };
        let names: Vec<String> = match fields {
            Some(fields) => fields
                .iter()
                .map(|name| self.schema.field(name))
                .collect::<Result<_, _>>()?,
            None => {
                let mut names = self.schema.all_fields();
                let held = record.values.keys().filter(|name| !names.contains(name));
                names.extend(held.cloned().collect::<Vec<_>>());
                names
            }
        };
        Ok(render(record, &names))
    }

    /// `PATCH /sobjects/Opportunity/{id}`: all changes or none.
    pub(super) fn update(
        &mut self,
        id: &str,
        changes: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), SfError> {
        let index = self.find_or_create(id)?;
        self.take_scripted(id)?;
        let changes = self.schema.validate(changes, &self.picklists)?;
        self.apply(index, changes, now);
        Ok(())
    }

    /// The scripted error for this write of `id`, if one is left.
    fn take_scripted(&mut self, id: &str) -> Result<(), SfError> {
        match self.scripted.get_mut(id).and_then(Vec::pop) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn apply(&mut self, index: usize, changes: Changes, now: OffsetDateTime) {
        let record = &mut self.records[index];
        for (name, value) in changes {
            tracing::info!(
                id = record.id(),
                name = record.text("Name").unwrap_or_default(),
                "Salesforce: Opportunity.{name} = {value}"
            );
            record.values.insert(name, value);
        }
        record
            .values
            .insert(LAST_MODIFIED.into(), json!(salesforce_datetime(now)));
        record.writes += 1;
    }

    /// The records a query selects, with its fields, in the org's order (in an open org, the
    /// records not written yet follow, empty, in the order asked).
    pub(super) fn query(&self, query: &Query) -> Result<Vec<Value>, SfError> {
        if query.object.eq_ignore_ascii_case(competitor::OBJECT) {
            return self.query_rows(query);
        }
        if !query.object.eq_ignore_ascii_case(OBJECT) {
            return Err(SfError::new(
                "INVALID_TYPE",
                format!(
                    "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
                    query.object
                ),
            ));
        }
        let names: Vec<String> = query
            .fields
            .iter()
            .map(|name| self.schema.field(name))
            .collect::<Result<_, _>>()?;
        let limit = query.limit.unwrap_or(usize::MAX);
        let Some(filter) = &query.filter else {
            return Ok(self
                .records
                .iter()
                .take(limit)
                .map(|record| render(record, &names))
                .collect());
        };
        if filter.field == FilterField::OpportunityId {
            return Err(SfError::on_field(
                "INVALID_FIELD",
                format!("No such column 'OpportunityId' on entity '{OBJECT}'"),
                "OpportunityId",
            ));
        }
        let mut found = BTreeSet::new();
        let mut unwritten: Vec<Record> = Vec::new();
        for id in &filter.values {
            let invalid = || {
                SfError::new(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    format!("invalid ID field: {id}"),
                )
            };
            match self.find(id).map_err(|_| invalid())? {
                Some(index) => {
                    found.insert(index);
                }
                None if self.open && !unwritten.iter().any(|r| same_record(r.id(), id)) => {
                    unwritten.push(Record::empty(id));
                }
                None => {}
            }
        }
        let selected = found.into_iter().map(|index| &self.records[index]);
        Ok(selected
            .chain(&unwritten)
            .take(limit)
            .map(|record| render(record, &names))
            .collect())
    }
}

/// Whether two ids name the same record. A 15-character id is the record's id, and names the
/// record whose 18-character id begins with it. Two 18-character ids name one record only when
/// equal: the last three characters encode the case of the first fifteen, which synthetic ids
/// do not follow, so their first fifteen may coincide.
fn same_record(a: &str, b: &str) -> bool {
    if a.len() == 18 && b.len() == 18 {
        a == b
    } else {
        a.get(..15) == b.get(..15)
    }
}

fn render(record: &Record, names: &[String]) -> Value {
    let mut rendered = Map::new();
    rendered.insert(
        "attributes".into(),
        json!({
            "type": OBJECT,
            "url": format!("/services/data/v62.0/sobjects/{OBJECT}/{}", record.id())
        }),
    );
    for name in names {
        rendered.insert(
            name.clone(),
            record.values.get(name).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(rendered)
}

/// Salesforce's datetime form: `2026-11-25T10:00:00.000+0000`.
fn salesforce_datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod competitor_tests;
#[cfg(test)]
mod picklist_tests;
#[cfg(test)]
mod tests;
