// The one error the parsers throw for bad input: a code a client can branch on, the HTTP status the
// service answers with, and details (line, column, field, index) pointing at the offending input.

/** 400 malformed, 413 over a size limit, 415 not a format we read, 422 well-formed but unusable. */
export type DataErrorStatus = 400 | 413 | 415 | 422;

/**
 * Codes in use: invalid_csv, invalid_cell, invalid_json_dataset, invalid_idx, idx_mismatch,
 * empty_dataset, no_features, invalid_target, non_numeric_target, invalid_task, single_class,
 * too_many_classes, too_large.
 */
export class DataError extends Error {
  readonly code: string;
  readonly status: DataErrorStatus;
  readonly details?: Record<string, unknown>;

  constructor(code: string, status: DataErrorStatus, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DataError';
    this.code = code;
    this.status = status;
    if (details !== undefined) this.details = details;
  }
}
