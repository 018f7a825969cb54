-- Where a job came from: a webhook, the catch-up sweep, a backfill, or `sync --call-id`.
ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'webhook'
    CHECK (origin IN ('webhook', 'sweep', 'backfill', 'sync'));
UPDATE jobs SET origin = 'backfill' WHERE backfill IS NOT NULL;

-- The catch-up sweep: one holder at a time (a lease), and when it last ran.
CREATE TABLE sweeps (
    name         TEXT    PRIMARY KEY NOT NULL,   -- 'gong'
    holder       TEXT,
    held_until   INTEGER NOT NULL DEFAULT 0,     -- Unix ms
    last_started INTEGER NOT NULL DEFAULT 0,
    last_success INTEGER,                        -- Unix ms of the last sweep that completed
    last_outcome TEXT
);
