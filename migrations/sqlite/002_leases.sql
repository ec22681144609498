-- Which node holds a running job and until when (its lease), the live progress a worker writes between
-- epochs, and the nodes that are up. One process owns a SQLite file, but the store contract is the same.
ALTER TABLE jobs ADD COLUMN node_id TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER;   -- ms since the epoch
ALTER TABLE jobs ADD COLUMN eta_seconds REAL;

CREATE TABLE nodes (
  id           TEXT PRIMARY KEY,
  role         TEXT NOT NULL,
  running      TEXT NOT NULL,             -- JSON array of job ids
  started_at   TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL            -- ms since the epoch
);
