-- Every evaluation of a model, kept with it: the dataset, when, and the scores.
CREATE TABLE evaluations (
  id         TEXT PRIMARY KEY,
  model_id   TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  dataset_id TEXT,
  at         TEXT NOT NULL,
  scores     JSONB NOT NULL,
  seq        BIGSERIAL
);
CREATE INDEX evaluations_model ON evaluations(model_id, at);
