// The engine's one error type: a code a caller can branch on, the field at fault (a path such as
// "hidden[0].units"), and for divergence the epoch it happened in.

export type EngineErrorCode =
  | 'invalid_spec'   // the network or training spec is wrong or incoherent
  | 'invalid_data'   // the rows do not fit the spec, hold NaN/∞ or out-of-range labels, or are too large to predict
  | 'diverged'       // the loss became NaN or infinite, or grew past 10× the untrained network's, during training
  | 'invalid_model'  // model bytes that do not decode
  | 'invalid_state'; // training-state bytes that do not decode or fit this trainer, or a finished trainer asked to run

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  /** Path of the offending field, e.g. "hidden[0].units", "labels[17]"; null when no one field is at fault. */
  readonly field: string | null;
  /** For 'diverged': the 1-based epoch in which the loss blew up. */
  readonly epoch: number | null;

  constructor(code: EngineErrorCode, field: string | null, message: string, epoch: number | null = null) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
    this.field = field;
    this.epoch = epoch;
  }
}

export const invalidSpec = (field: string, message: string) => new EngineError('invalid_spec', field, message);
export const invalidData = (field: string, message: string) => new EngineError('invalid_data', field, message);
