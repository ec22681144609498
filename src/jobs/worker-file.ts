// Where the worker entry is. Workers are real threads that load JavaScript, so under vitest (which
// runs src/*.ts) they load the build in dist/, which `npm test` makes before the tests run.
import { fileURLToPath } from 'node:url';

export function workerFile(): string {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? fileURLToPath(new URL('../../dist/jobs/worker.js', here))
    : fileURLToPath(new URL('./worker.js', here));
}
