-- Request allowances shared by every process using the store (the service and a backfill
-- beside it), so together they keep to the upstream API's limits.
CREATE TABLE api_quota (
    api           TEXT    PRIMARY KEY NOT NULL,  -- 'gong'
    next_slot     INTEGER NOT NULL,              -- Unix ms: the next request may go then
    day           INTEGER NOT NULL,              -- UTC day (Unix ms / 86,400,000) `used` counts
    used          INTEGER NOT NULL,              -- requests sent that day
    blocked_until INTEGER NOT NULL               -- Unix ms: a 429's Retry-After holds all until then
);
