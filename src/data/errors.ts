// The one error the parsers throw for bad input: a code a client can branch on, what kind of
// refusal it is, and details (line, column, field, index) pointing at the offending input.
// Only the HTTP edge turns a kind into a status.

/** malformed: does not parse; too_large: over a size limit; unsupported: not a format we read;
 *  unusable: well-formed but cannot be trained on. */
export type DataErrorKind = 'malformed' | 'too_large' | 'unsupported' | 'unusable';

/**
 * Codes in use: invalid_csv, invalid_cell, invalid_json_dataset, invalid_idx, idx_mismatch,
 * empty_dataset, no_features, invalid_target, non_numeric_target, invalid_task, single_class,
 * too_many_classes, too_large, payload_too_large.
 */
export class DataError extends Error {
  readonly code: string;
  readonly kind: DataErrorKind;
  readonly details?: Record<string, unknown>;

  constructor(code: string, kind: DataErrorKind, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DataError';
    this.code = code;
    this.kind = kind;
    if (details !== undefined) this.details = details;
  }
}
