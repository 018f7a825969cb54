-- Where a job came from: a webhook, the catch-up sweep, a backfill, or `sync --call-id`.
ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'webhook'
    CHECK (origin IN ('webhook', 'sweep', 'backfill', 'sync'));
UPDATE jobs SET origin = 'backfill' WHERE backfill IS NOT NULL;

-- The catch-up sweep: one holder at a time across replicas (a lease), and when it last ran.
CREATE TABLE sweeps (
    name         TEXT   PRIMARY KEY,
    holder       TEXT,
    held_until   BIGINT NOT NULL DEFAULT 0,
    last_started BIGINT NOT NULL DEFAULT 0,
    last_success BIGINT,
    last_outcome TEXT
);
