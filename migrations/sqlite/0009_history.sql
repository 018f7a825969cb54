-- What the console and the admin API show of a job's history: each attempt as it ended, and
-- how each delivery was authenticated.
CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,              -- the job's attempt count when it ended
    ended_at        INTEGER NOT NULL,
    outcome         TEXT    NOT NULL
        CHECK (outcome IN ('done', 'skipped', 'dry_run', 'dead', 'retry', 'deferred')),
    detail          TEXT,                          -- the summary, the reason or the error
    next_attempt_at INTEGER                        -- for a retry or a deferral
);
CREATE INDEX attempts_job ON attempts (job_id);

-- token, gong_jwt, standard_webhooks or unauthenticated; NULL for deliveries stored before.
ALTER TABLE deliveries ADD COLUMN auth TEXT;

-- The console's outcome chart and time filters read jobs by when they last changed.
CREATE INDEX jobs_updated ON jobs (updated_at);
