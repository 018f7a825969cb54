-- A write that created a record (a row of an Opportunity's Competitors related list) keeps
-- the new record's id: a retried job finds the row by its check before creating, and people
-- find it in the audit trail. NULL for a field value written to an existing record.
ALTER TABLE field_writes ADD COLUMN created_id TEXT;
