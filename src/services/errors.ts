// The named failures of the services: a code a client can branch on, a message a person can act on,
// details, and the kind of refusal. Only src/http/errors.ts turns a kind into a status and headers.
import type { DataErrorKind } from '../data/errors.js';

export { StoreFullError, StoreUnavailableError } from '../store/errors.js';

/** The parsers' kinds, and: not_found, conflict (the resource's state forbids it), busy (retry after
 *  retryAfterSeconds), unavailable (shutting down), invalid_tensor (V2's malformed input). */
export type ErrorKind = DataErrorKind | 'not_found' | 'conflict' | 'busy' | 'unavailable';

export class ServiceError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** For busy: how long a client should wait before it tries again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const errors = {
  notFound: (what: string, id: string) => new ServiceError('not_found', 'not_found', `${what} ${id} does not exist`),
  conflict: (code: string, message: string) => new ServiceError('conflict', code, message),
  queueFull: (limit: number) => new ServiceError('busy', 'queue_full',
    `the queue already holds ${limit} jobs (MAX_QUEUED_JOBS): retry later`, { limit }, 30),
  invalidSpec: (field: string, message: string) => new ServiceError('unusable', 'invalid_spec', message, { field }),
  invalidInput: (message: string, details?: Record<string, unknown>) =>
    new ServiceError('unusable', 'invalid_input', message, details),
  /** A tensor the Open Inference Protocol calls malformed. */
  invalidTensor: (field: string, message: string) =>
    new ServiceError('malformed', 'invalid_input', `${field}: ${message}`, { field }),
  unsupportedMediaType: (message: string) => new ServiceError('unsupported', 'unsupported_media_type', message),
  shuttingDown: () => new ServiceError('unavailable', 'shutting_down', 'the service is shutting down: retry on another instance or shortly'),
};
