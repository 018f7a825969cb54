//! The org's OpportunityCompetitor rows (the Competitors related lists), and counts of what
//! the API did to them.

use serde_json::{json, Map, Value};

use super::same_record;
use crate::salesforce::competitor::{
    RowChanges, CREATED, NAME, OBJECT, OPPORTUNITY_ID, STRENGTHS, WEAKNESSES,
};
use crate::salesforce::fields::{ID, LAST_MODIFIED};

/// One row of an Opportunity's Competitors related list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitorRow {
    /// 18 characters, beginning with `00J`.
    pub id: String,
    /// The Opportunity's id as the row's creator sent it.
    pub opportunity_id: String,
    /// `CompetitorName`.
    pub name: String,
    pub strengths: Option<String>,
    pub weaknesses: Option<String>,
    /// `CreatedDate` and `LastModifiedDate`, in Salesforce's datetime form.
    pub created_date: String,
    pub last_modified_date: String,
    /// Whether the row came through the API (the service) rather than from a person.
    pub created_by_api: bool,
}

impl CompetitorRow {
    /// The value of field `name` (canonical).
    fn value(&self, name: &str) -> Value {
        match name {
            ID => json!(self.id),
            OPPORTUNITY_ID => json!(self.opportunity_id),
            NAME => json!(self.name),
            STRENGTHS => json!(self.strengths),
            WEAKNESSES => json!(self.weaknesses),
            CREATED => json!(self.created_date),
            LAST_MODIFIED => json!(self.last_modified_date),
            _ => Value::Null,
        }
    }

    /// The row as the REST API returns it, with `fields` (canonical names).
    pub(super) fn render(&self, fields: &[&str]) -> Value {
        let mut rendered = Map::new();
        rendered.insert(
            "attributes".into(),
            json!({
                "type": OBJECT,
                "url": format!("/services/data/v62.0/sobjects/{OBJECT}/{}", self.id)
            }),
        );
        for name in fields {
            rendered.insert((*name).to_owned(), self.value(name));
        }
        Value::Object(rendered)
    }
}

/// A row's values before it exists.
pub(super) struct NewRow<'a> {
    pub opportunity_id: &'a str,
    pub name: &'a str,
    pub strengths: Option<&'a str>,
    pub weaknesses: Option<&'a str>,
    pub by_api: bool,
}

#[derive(Default)]
pub(super) struct Rows {
    rows: Vec<CompetitorRow>,
    /// Ids handed out: each row's id counts on from the last, so no id is used twice, not
    /// even a deleted row's.
    issued: u64,
    /// Rows created through the API.
    created: usize,
    /// Rows changed or deleted through the API.
    changed: usize,
}

impl Rows {
    /// Adds a row made at `at` (Salesforce's datetime form); returns its id.
    pub(super) fn add(&mut self, row: &NewRow<'_>, at: &str) -> String {
        self.issued += 1;
        let id = format!("00J5g{:010}AAA", self.issued);
        self.rows.push(CompetitorRow {
            id: id.clone(),
            opportunity_id: row.opportunity_id.to_owned(),
            name: row.name.to_owned(),
            strengths: row.strengths.map(str::to_owned),
            weaknesses: row.weaknesses.map(str::to_owned),
            created_date: at.to_owned(),
            last_modified_date: at.to_owned(),
            created_by_api: row.by_api,
        });
        if row.by_api {
            self.created += 1;
        }
        id
    }

    /// The row `id` names (15- or 18-character form).
    pub(super) fn find(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|row| same_record(&row.id, id))
    }

    pub(super) fn get(&self, index: usize) -> &CompetitorRow {
        &self.rows[index]
    }

    pub(super) fn all(&self) -> &[CompetitorRow] {
        &self.rows
    }

    /// Applies an API update to row `index` at `at`.
    pub(super) fn update(&mut self, index: usize, changes: RowChanges, at: &str) {
        let row = &mut self.rows[index];
        if let Some(name) = changes.name {
            row.name = name;
        }
        if let Some(strengths) = changes.strengths {
            row.strengths = strengths;
        }
        if let Some(weaknesses) = changes.weaknesses {
            row.weaknesses = weaknesses;
        }
        row.last_modified_date = at.to_owned();
        self.changed += 1;
    }

    /// Deletes row `index` through the API.
    pub(super) fn delete(&mut self, index: usize) {
        self.rows.remove(index);
        self.changed += 1;
    }

    pub(super) fn created(&self) -> usize {
        self.created
    }

    pub(super) fn changed(&self) -> usize {
        self.changed
    }
}
