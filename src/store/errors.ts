// The one failure a store reports as such: the database cannot be reached right now. Callers may
// retry it; the HTTP edge answers 503 with Retry-After.
export class StoreUnavailableError extends Error {
  readonly kind = 'unavailable' as const;
  readonly code = 'database_unavailable';
  constructor(cause: Error) {
    super(`the database is unavailable (${cause.message}): retry shortly`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** The store cannot be opened at all: the process cannot start. The message is one line for an operator. */
export class StoreOpenError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StoreOpenError';
  }
}
