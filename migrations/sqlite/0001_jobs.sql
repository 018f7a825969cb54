-- One row per accepted webhook delivery. Times are Unix milliseconds (UTC).
CREATE TABLE jobs (
    id           TEXT    PRIMARY KEY NOT NULL,   -- UUIDv7: sorts by creation time
    call_id      TEXT    NOT NULL,
    is_test      INTEGER NOT NULL,
    call_data    TEXT    NOT NULL,               -- the webhook's callData, verbatim
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'skipped', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    INTEGER NOT NULL,               -- not claimed before this time
    lease_id     TEXT,                           -- set while a worker holds the job
    locked_until INTEGER,                        -- the lease expires then (worker died)
    last_error   TEXT,
    outcome      TEXT,                           -- human-readable result or reason
    result       TEXT,                           -- JSON: the plan and what was written
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_after);
CREATE INDEX jobs_call ON jobs (call_id);

-- Audit trail: every field value written to the CRM.
CREATE TABLE field_writes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    call_id    TEXT    NOT NULL,
    object     TEXT    NOT NULL,
    record_id  TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    old_value  TEXT,                             -- known when the field was read first (merge)
    new_value  TEXT    NOT NULL,
    written_at INTEGER NOT NULL
);
CREATE INDEX field_writes_job ON field_writes (job_id);
CREATE INDEX field_writes_record ON field_writes (record_id);

-- OAuth state that must outlive the process, e.g. a rotated Salesforce refresh token.
CREATE TABLE oauth_tokens (
    name       TEXT    PRIMARY KEY NOT NULL,
    value      TEXT    NOT NULL,
    origin     TEXT    NOT NULL,                 -- SHA-256 of the configured token it replaced
    updated_at INTEGER NOT NULL
);
