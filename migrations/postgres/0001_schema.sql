-- The store's schema on PostgreSQL, for several service replicas sharing one database.
-- Times are Unix milliseconds (UTC), always taken from the database's clock (now_ms()), never
-- a replica's.

-- The time when the statement runs (not when its transaction began), in Unix ms.
CREATE FUNCTION now_ms() RETURNS BIGINT
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;

-- One row per accepted webhook delivery (or operator/backfill request) to process.
CREATE TABLE jobs (
    id           TEXT    PRIMARY KEY,             -- UUIDv7: sorts by creation time
    call_id      TEXT    NOT NULL,
    is_test      BOOLEAN NOT NULL,
    call_data    TEXT    NOT NULL,                -- the webhook's callData, verbatim
    content_hash TEXT    NOT NULL DEFAULT '',     -- what the job's result depends on
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'skipped', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_after    BIGINT  NOT NULL,                -- not claimed before this time
    lease_id     TEXT,                            -- set while a worker holds the job
    locked_until BIGINT,                          -- the lease expires then (worker died)
    last_error   TEXT,
    outcome      TEXT,                            -- human-readable result or reason
    result       TEXT,                            -- JSON: the job's report
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    dry_run      BOOLEAN NOT NULL DEFAULT FALSE,
    backfill     TEXT,                            -- the backfill range that queued it
    plan         TEXT                             -- JSON: a plan kept for the next attempt
);
-- Claiming reads queued jobs by due time and expired leases by expiry: one small index each.
CREATE INDEX jobs_queued ON jobs (run_after) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_call ON jobs (call_id, id);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_backfill ON jobs (backfill) WHERE backfill IS NOT NULL;

-- Every delivery, including those that joined a job or were duplicates.
CREATE TABLE deliveries (
    id           BIGSERIAL PRIMARY KEY,
    job_id       TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    call_id      TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    disposition  TEXT    NOT NULL CHECK (disposition IN ('new', 'joined', 'duplicate')),
    received_at  BIGINT  NOT NULL,
    webhook_id   TEXT                             -- a Standard Webhooks message id
);
CREATE INDEX deliveries_job ON deliveries (job_id);
CREATE INDEX deliveries_webhook_id ON deliveries (webhook_id) WHERE webhook_id IS NOT NULL;

-- The outcome of each record a job writes.
CREATE TABLE job_targets (
    job_id     TEXT   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    object     TEXT   NOT NULL,
    record_id  TEXT   NOT NULL,
    status     TEXT   NOT NULL CHECK (status IN ('done', 'dead')),
    detail     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, object, record_id)
);

-- Audit trail: every field value written to the CRM.
CREATE TABLE field_writes (
    id         BIGSERIAL PRIMARY KEY,
    job_id     TEXT   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    call_id    TEXT   NOT NULL,
    object     TEXT   NOT NULL,
    record_id  TEXT   NOT NULL,
    field      TEXT   NOT NULL,
    old_value  TEXT,                              -- known when the field was read first (merge)
    new_value  TEXT   NOT NULL,
    written_at BIGINT NOT NULL
);
CREATE INDEX field_writes_job ON field_writes (job_id);
CREATE INDEX field_writes_record ON field_writes (record_id);

-- OAuth state that must outlive every process: a rotated Salesforce refresh token.
CREATE TABLE oauth_tokens (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    origin     TEXT   NOT NULL,                   -- SHA-256 of the configured token it replaced
    updated_at BIGINT NOT NULL
);

-- Progress of each backfill range.
CREATE TABLE backfills (
    range_key  TEXT    PRIMARY KEY,
    cursor     TEXT,
    listed     BIGINT  NOT NULL DEFAULT 0,
    total      BIGINT,
    complete   BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT  NOT NULL
);

-- Request allowances shared by every replica: one row per API, reserved by updating it.
CREATE TABLE api_quota (
    api           TEXT   PRIMARY KEY,
    next_slot     BIGINT NOT NULL,
    day           BIGINT NOT NULL,
    used          BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);

-- One writer per CRM record at a time, across replicas: a lease row per record.
CREATE TABLE record_locks (
    record_key TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    held_until BIGINT NOT NULL
);

-- Pauses every replica honours.
CREATE TABLE pauses (
    name   TEXT   PRIMARY KEY,
    until  BIGINT NOT NULL,
    reason TEXT   NOT NULL
);

-- A row `competitor-sync check` commits to, proving the database takes writes.
CREATE TABLE store_probe (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    committed_at BIGINT  NOT NULL
);
