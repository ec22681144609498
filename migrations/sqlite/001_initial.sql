-- Datasets, jobs with their epochs and checkpoints, and models.
-- Large blobs live in side tables so that listing metadata never reads them.

CREATE TABLE datasets (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  rows          INTEGER NOT NULL,
  features      INTEGER NOT NULL,
  feature_names TEXT NOT NULL,            -- JSON array of strings
  target_name   TEXT NOT NULL,
  task          TEXT NOT NULL CHECK (task IN ('classification', 'regression')),
  classes       TEXT,                     -- JSON array, classification only
  x_type        TEXT NOT NULL CHECK (x_type IN ('u8', 'f32')),
  bytes         INTEGER NOT NULL,
  created_at    TEXT NOT NULL
);

CREATE TABLE dataset_data (
  dataset_id TEXT PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
  x          BLOB NOT NULL,               -- rows × features, u8 or little-endian f32
  y          BLOB NOT NULL,               -- int32 class index or f32 target per row
  mean       BLOB NOT NULL,               -- f32 per feature
  std        BLOB NOT NULL                -- f32 per feature
);

CREATE TABLE jobs (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order
  id              TEXT NOT NULL UNIQUE,
  dataset_id      TEXT REFERENCES datasets(id) ON DELETE SET NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  spec            TEXT NOT NULL,          -- JSON, defaults filled in
  epoch           INTEGER NOT NULL DEFAULT 0,
  epochs          INTEGER NOT NULL,
  progress        REAL NOT NULL DEFAULT 0,
  metrics         TEXT,                   -- JSON of the latest epoch
  samples_per_sec REAL,
  model_id        TEXT,
  stop_reason     TEXT,
  error_code      TEXT,
  error_message   TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  runtime_ms      INTEGER NOT NULL DEFAULT 0,
  created_at      TEXT NOT NULL,
  started_at      TEXT,
  finished_at     TEXT,
  updated_at      TEXT NOT NULL
);
CREATE INDEX jobs_status ON jobs(status, seq);
CREATE INDEX jobs_dataset ON jobs(dataset_id, status);

CREATE TABLE epochs (
  job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  epoch         INTEGER NOT NULL,
  metrics       TEXT NOT NULL,            -- JSON: loss, valLoss, accuracy, ..., learningRate, durationMs
  at            TEXT NOT NULL,
  PRIMARY KEY (job_id, epoch)
) WITHOUT ROWID;

CREATE TABLE checkpoints (
  job_id     TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  epoch      INTEGER NOT NULL,
  state      BLOB NOT NULL,               -- the engine's resumable training state
  updated_at TEXT NOT NULL
);

CREATE TABLE models (
  id            TEXT PRIMARY KEY,
  job_id        TEXT,
  dataset_id    TEXT,
  task          TEXT NOT NULL,
  architecture  TEXT NOT NULL,            -- JSON
  metrics       TEXT,                     -- JSON
  classes       TEXT,                     -- JSON
  feature_names TEXT NOT NULL,            -- JSON
  features      INTEGER NOT NULL,
  best_epoch    INTEGER,
  created_at    TEXT NOT NULL
);

CREATE TABLE model_data (
  model_id TEXT PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
  bytes    BLOB NOT NULL                  -- the engine's model format
);
