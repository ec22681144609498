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

/** The disk under the store is full: nothing more can be written until space is freed. */
export class StoreFullError extends Error {
  readonly kind = 'storage_full' as const;
  readonly code = 'storage_full';
  constructor(where: string, cause?: unknown) {
    super(`the disk holding ${where} is full: delete datasets or models to free space, or give the service more disk`, { cause });
    this.name = 'StoreFullError';
  }
}
