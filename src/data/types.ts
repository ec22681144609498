// What every parser produces: a table of numeric features and one target, ready to store and train on.

export type Task = 'classification' | 'regression';

export interface ParsedDataset {
  rows: number;
  features: number;
  featureNames: string[];
  targetName: string;
  /** rows × features, row-major; a Uint8Array when every value is an integer in 0..255. */
  x: Float32Array | Uint8Array;
  task: Task;
  /** Classification: the distinct labels as uploaded, sorted (numbers ascending, else strings). */
  classes: (string | number)[] | null;
  /** Classification: index into `classes`, one per row. */
  labels: Int32Array | null;
  /** Regression: the target, one per row. */
  targets: Float32Array | null;
  /** Per-feature population mean and standard deviation; std is 0 for a constant feature. */
  mean: Float32Array;
  std: Float32Array;
}
