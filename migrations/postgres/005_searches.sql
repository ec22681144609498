-- Hyperparameter searches. A search's trials are ordinary jobs that carry the search, their index in it
-- and their parameters. A trial may be held in the queue: waiting for its turn (the search keeps at
-- most `parallel` trials going) or paused at a rung of successive halving until it is decided, with the
-- model it paused with kept aside. queue_pos orders the queue: a released trial goes to its back.
CREATE TABLE searches (
  seq         BIGSERIAL PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  name        TEXT,
  dataset_id  TEXT,
  status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  spec        JSONB NOT NULL,
  trials      INTEGER NOT NULL,
  created_at  TEXT NOT NULL,
  finished_at TEXT,
  updated_at  TEXT NOT NULL
);
CREATE INDEX searches_status ON searches (status);

CREATE SEQUENCE jobs_queue_pos;
ALTER TABLE jobs ADD COLUMN search_id TEXT;
ALTER TABLE jobs ADD COLUMN trial INTEGER;
ALTER TABLE jobs ADD COLUMN params JSONB;
ALTER TABLE jobs ADD COLUMN hold TEXT CHECK (hold IN ('turn', 'rung'));
ALTER TABLE jobs ADD COLUMN pause_at INTEGER;
ALTER TABLE jobs ADD COLUMN queue_pos BIGINT;
UPDATE jobs SET queue_pos = seq;
SELECT setval('jobs_queue_pos', (SELECT coalesce(max(seq), 0) + 1 FROM jobs), false);
ALTER TABLE jobs ALTER COLUMN queue_pos SET DEFAULT nextval('jobs_queue_pos');
ALTER TABLE jobs ALTER COLUMN queue_pos SET NOT NULL;
CREATE INDEX jobs_queue ON jobs (status, queue_pos);
CREATE INDEX jobs_search ON jobs (search_id, trial);

CREATE TABLE paused_models (
  job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  fields JSONB NOT NULL,
  bytes  BYTEA NOT NULL
);
ALTER TABLE paused_models ALTER COLUMN bytes SET STORAGE EXTERNAL;
