// Where a worker entry is. Workers are real threads that load JavaScript, so under vitest (which runs
// src/*.ts) they load the build in dist/, which `npm test` makes before the tests run.
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of `file` (a .js name) beside the module at `moduleUrl`, in dist/ when that module runs from src/. */
export function workerPath(moduleUrl: string, file: string): string {
  const path = fileURLToPath(new URL(file, moduleUrl));
  return moduleUrl.endsWith('.ts') ? path.replace(`${sep}src${sep}`, `${sep}dist${sep}`) : path;
}
