// The named failures of the job and model services; the HTTP layer maps `status` and `code` to a reply.
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const errors = {
  notFound: (what: string, id: string) => new ServiceError(404, 'not_found', `${what} ${id} does not exist`),
  conflict: (code: string, message: string) => new ServiceError(409, code, message),
  queueFull: (limit: number) => new ServiceError(429, 'queue_full',
    `the queue already holds ${limit} jobs (MAX_QUEUED_JOBS): retry later`, { limit }, { 'retry-after': '30' }),
  invalidSpec: (field: string, message: string) =>
    new ServiceError(422, 'invalid_spec', message, { field }),
  invalidInput: (message: string, details?: Record<string, unknown>) =>
    new ServiceError(422, 'invalid_input', message, details),
  shuttingDown: () => new ServiceError(503, 'shutting_down', 'the service is shutting down: retry on another instance or shortly'),
};
