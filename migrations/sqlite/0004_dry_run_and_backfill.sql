-- A job finished with sync.dry_run (or --dry-run) wrote nothing: it must not count as done
-- when the same call comes again after dry run is switched off.
ALTER TABLE jobs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;

-- The backfill range that queued a job, so `competitor-sync backfill` can follow its jobs.
ALTER TABLE jobs ADD COLUMN backfill TEXT;
CREATE INDEX jobs_backfill ON jobs (backfill) WHERE backfill IS NOT NULL;

-- Progress of each backfill range: a run stopped part-way resumes from the next page.
CREATE TABLE backfills (
    range_key  TEXT    PRIMARY KEY NOT NULL,     -- "<from>..<to>", RFC 3339
    cursor     TEXT,                             -- Gong's cursor for the next page
    listed     INTEGER NOT NULL DEFAULT 0,       -- calls listed so far
    total      INTEGER,                          -- Gong's totalRecords for the range
    complete   INTEGER NOT NULL DEFAULT 0,       -- 1 once the last page was listed
    updated_at INTEGER NOT NULL
);
