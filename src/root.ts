// The project's root folder (beside src/ and dist/), where openapi.yaml, migrations/ and dist/public live.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
