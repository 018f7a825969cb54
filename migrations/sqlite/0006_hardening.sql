-- A row the readiness probe commits to while writes are failing (a full disk), to learn
-- when the store can commit again.
CREATE TABLE store_probe (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    committed_at INTEGER NOT NULL
);

-- What a job planned once its call was fetched (JSON, with a fingerprint of the rules), so a
-- retry caused by Salesforce alone writes from it without asking Gong for the call again.
-- Cleared when a new delivery changes the job's inputs.
ALTER TABLE jobs ADD COLUMN plan TEXT;
