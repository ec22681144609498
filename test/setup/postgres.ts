// vitest's global setup: a throwaway PostgreSQL cluster for the suites that run against PostgreSQL.
// TEST_DATABASE_URL names one to use instead; otherwise, where Debian's postgresql is installed, one is
// made (test/helpers/pg-cluster.ts) and removed when the tests end. Without either, those suites skip
// (unless REQUIRE_POSTGRES is set, as CI does).
import type { TestProject } from 'vitest/node';
import { createCluster, postgresBin } from '../helpers/pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext { databaseUrl: string | null }
}

export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('databaseUrl', process.env.TEST_DATABASE_URL);
    return;
  }
  const bin = postgresBin();
  if (!bin) {
    // CI sets REQUIRE_POSTGRES: there, the PostgreSQL suites must run, never skip.
    if (process.env.REQUIRE_POSTGRES) throw new Error('REQUIRE_POSTGRES is set but postgresql is not installed');
    project.provide('databaseUrl', null);
    return;
  }
  const cluster = await createCluster(bin);
  project.provide('databaseUrl', cluster.url);
  return () => cluster.remove();
}
