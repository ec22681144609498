-- The large blobs (a dataset's numbers, checkpoints, model bytes) are float and byte arrays that pglz
-- barely shrinks but spends most of an upload's time trying to: store them out of line, uncompressed.
ALTER TABLE dataset_data ALTER COLUMN x SET STORAGE EXTERNAL;
ALTER TABLE dataset_data ALTER COLUMN y SET STORAGE EXTERNAL;
ALTER TABLE checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
ALTER TABLE model_data ALTER COLUMN bytes SET STORAGE EXTERNAL;
