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
