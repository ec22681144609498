-- Datasets, jobs with their epochs and checkpoints, models, and the nodes that serve and train them.
-- Large blobs live in side tables so that listing metadata never reads them. Times a lease compares
-- are the database's own clock (now()), so the nodes' clocks need not agree.

CREATE TABLE datasets (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  rows          INTEGER NOT NULL,
  features      INTEGER NOT NULL,
  feature_names JSONB NOT NULL,
  target_name   TEXT NOT NULL,
  task          TEXT NOT NULL CHECK (task IN ('classification', 'regression')),
  classes       JSONB,
  x_type        TEXT NOT NULL CHECK (x_type IN ('u8', 'f32')),
  bytes         BIGINT NOT NULL,
  created_at    TEXT NOT NULL,
  seq           BIGSERIAL
);
CREATE INDEX datasets_order ON datasets (created_at DESC, seq DESC);

CREATE TABLE dataset_data (
  dataset_id TEXT PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
  x          BYTEA NOT NULL,              -- rows × features, u8 or little-endian f32
  y          BYTEA NOT NULL,              -- i32 class index or f32 target per row
  mean       BYTEA NOT NULL,              -- f32 per feature
  std        BYTEA NOT NULL               -- f32 per feature
);

CREATE TABLE jobs (
  seq              BIGSERIAL PRIMARY KEY,  -- queue order
  id               TEXT NOT NULL UNIQUE,
  dataset_id       TEXT REFERENCES datasets(id) ON DELETE SET NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  spec             JSONB NOT NULL,         -- defaults filled in
  epoch            INTEGER NOT NULL DEFAULT 0,
  epochs           INTEGER NOT NULL,
  progress         DOUBLE PRECISION NOT NULL DEFAULT 0,
  metrics          JSONB,                  -- the latest epoch
  samples_per_sec  DOUBLE PRECISION,
  eta_seconds      DOUBLE PRECISION,
  model_id         TEXT,
  stop_reason      TEXT,
  error_code       TEXT,
  error_message    TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  runtime_ms       BIGINT NOT NULL DEFAULT 0,
  node_id          TEXT,                   -- the node holding a running job
  lease_expires_at TIMESTAMPTZ,            -- past it, another node may take the job
  created_at       TEXT NOT NULL,
  started_at       TEXT,
  finished_at      TEXT,
  updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs (status, seq);
CREATE INDEX jobs_dataset ON jobs (dataset_id, status);

CREATE TABLE epochs (
  job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  epoch   INTEGER NOT NULL,
  metrics JSONB NOT NULL,
  at      TEXT NOT NULL,
  PRIMARY KEY (job_id, epoch)
);

CREATE TABLE checkpoints (
  job_id     TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  epoch      INTEGER NOT NULL,
  state      BYTEA NOT NULL,               -- the engine's resumable training state
  updated_at TEXT NOT NULL
);

CREATE TABLE models (
  id            TEXT PRIMARY KEY,
  job_id        TEXT,
  dataset_id    TEXT,
  task          TEXT NOT NULL,
  architecture  JSONB NOT NULL,
  metrics       JSONB,
  classes       JSONB,
  feature_names JSONB NOT NULL,
  features      INTEGER NOT NULL,
  best_epoch    INTEGER,
  created_at    TEXT NOT NULL,
  seq           BIGSERIAL
);
CREATE INDEX models_order ON models (created_at DESC, seq DESC);

CREATE TABLE model_data (
  model_id TEXT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
  bytes    BYTEA NOT NULL                  -- the engine's model format
);

CREATE TABLE nodes (
  id           TEXT PRIMARY KEY,
  role         TEXT NOT NULL,
  running      JSONB NOT NULL,             -- job ids
  started_at   TEXT NOT NULL,
  heartbeat_at TIMESTAMPTZ NOT NULL
);
