-- The model registry: a model may carry a name and a version (1, 2, … per name), and a name's aliases
-- (e.g. prod) point at one of its versions.
ALTER TABLE models ADD COLUMN name TEXT;
ALTER TABLE models ADD COLUMN version INTEGER;
CREATE UNIQUE INDEX models_name_version ON models(name, version);

CREATE TABLE model_aliases (
  name       TEXT NOT NULL,
  alias      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (name, alias)
);
