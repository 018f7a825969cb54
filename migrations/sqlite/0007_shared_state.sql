-- One writer per CRM record at a time, across processes: a lease row per record a batch is
-- writing. A holder that dies loses its rows when held_until passes.
CREATE TABLE record_locks (
    record_key TEXT    PRIMARY KEY NOT NULL,     -- "<object in lower case>/<record id>"
    holder     TEXT    NOT NULL,                 -- the batch holding it
    held_until INTEGER NOT NULL                  -- Unix ms
);

-- Pauses every process honours, e.g. all Salesforce work after REQUEST_LIMIT_EXCEEDED.
CREATE TABLE pauses (
    name   TEXT    PRIMARY KEY NOT NULL,         -- 'salesforce'
    until  INTEGER NOT NULL,                     -- Unix ms
    reason TEXT    NOT NULL
);
