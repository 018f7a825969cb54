-- Duplicate detection: a hash of what the job's result depends on (callData and isTest).
ALTER TABLE jobs ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';

-- Every webhook delivery, including those that joined an existing job or were duplicates.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    call_id      TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    disposition  TEXT    NOT NULL CHECK (disposition IN ('new', 'joined', 'duplicate')),
    received_at  INTEGER NOT NULL
);
CREATE INDEX deliveries_job ON deliveries (job_id);

-- The outcome of each record a job writes, so one failing record does not hold up the others
-- and a retried job does not rewrite records it already wrote.
CREATE TABLE job_targets (
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    object     TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('done', 'dead')),
    detail     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, object, record_id)
);
