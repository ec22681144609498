// Writes openapi.yaml from the routes' own zod schemas (`npm run openapi`). A test fails when the
// committed file differs from what the routes generate, so the document cannot drift from the code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateOpenApi } from '../test/helpers/openapi.js';

const out = join(import.meta.dirname, '..', 'openapi.yaml');
const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
try {
  writeFileSync(out, await generateOpenApi(dir));
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
