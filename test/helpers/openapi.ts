// The OpenAPI document as the routes generate it, and a check that a response matches what the
// committed openapi.yaml says about it (the test suite's guard against the document drifting).
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export const OPENAPI_PATH = join(import.meta.dirname, '..', '..', 'openapi.yaml');

export async function generateOpenApi(dataDir: string): Promise<string> {
  const app = await buildApp(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
  }
}

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, unknown> };
};

let doc: Doc | null = null;
let ajv: InstanceType<typeof Ajv2020.default> | null = null;

export function openApiDoc(): Doc {
  doc ??= parse(readFileSync(OPENAPI_PATH, 'utf8')) as Doc;
  return doc;
}

/** "/v1/jobs/123/epochs" → "/v1/jobs/{id}/epochs", the document's path template. */
function templateFor(path: string): string | null {
  const bare = path.split('?')[0];
  for (const template of Object.keys(openApiDoc().paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(bare)) return template;
  }
  return null;
}

/** Throws, naming the mismatch, unless the body is what the document promises for this response. */
export function assertDocumented(method: string, path: string, status: number, body: unknown): void {
  const template = templateFor(path);
  if (!template) throw new Error(`${method} ${path}: no such path in openapi.yaml`);
  const op = openApiDoc().paths[template][method.toLowerCase()];
  if (!op) throw new Error(`${method} ${template}: no such operation in openapi.yaml`);
  const response = op.responses[String(status)];
  if (!response) throw new Error(`${method} ${template}: status ${status} is not documented`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  if (!ajv) {
    ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'openapi', components: openApiDoc().components });
  }
  const validate = ajv.compile(rewriteRefs(schema) as object);
  if (!validate(body)) {
    throw new Error(`${method} ${template} ${status}: the body does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  }
}

function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));
}
