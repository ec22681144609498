// The store contract against the embedded backend: a fresh SQLite file per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { JobSpec } from '../../src/services/jobs/spec.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import { describeStoreContract } from './contract.js';

const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract('sqlite', async () => openSqliteStore<JobSpec>(join(dir, `${++n}.db`)).store);
