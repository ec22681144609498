// The OpenAPI document's post-processing: zod schemas and the few plain JSON-schema responses side by
// side, and only the component schemas that operations reach.
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

export const isZod = (schema: unknown) => typeof schema === 'object' && schema !== null && '_zod' in schema;

type OpenApiDoc = { paths?: unknown; components?: { schemas?: Record<string, unknown> } };

/** zod's registry lists every schema with an id, each as an input and an output variant; keep those
 *  the operations reach, so the document holds what a client needs and nothing else. */
function withoutUnusedSchemas<T extends OpenApiDoc>(doc: T): T {
  const schemas = doc.components?.schemas ?? {};
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const ref = key === '$ref' && typeof value === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(value) : null;
        if (ref && !used.has(ref[1])) {
          used.add(ref[1]);
          visit(schemas[ref[1]]);
        } else visit(value);
      }
    }
  };
  visit(doc.paths);
  return { ...doc, components: { ...doc.components, schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name))) } };
}

/** @fastify/swagger's `transform`: zod's transform takes zod schemas only, so the plain JSON-schema
 *  responses are set aside and put back, and routes that parse their own body add it by hand. */
export function transformRoute(input: Parameters<typeof jsonSchemaTransform>[0] & { route: { config?: { docs?: { body?: unknown } } } }) {
  const plain: Record<string, unknown> = {};
  const zodOnly: Record<string, unknown> = {};
  const responses = (input.schema?.response ?? {}) as Record<string, unknown>;
  for (const [status, schema] of Object.entries(responses)) {
    (isZod(schema) ? zodOnly : plain)[status] = schema;
  }
  const out = jsonSchemaTransform({ ...input, schema: { ...input.schema, response: zodOnly } } as never);
  const body = input.route.config?.docs?.body;
  const schema = { ...out.schema, response: { ...(out.schema.response as object), ...plain } };
  return { ...out, schema: body ? { ...schema, body } : schema };
}

export const transformDocument = (input: Parameters<typeof jsonSchemaTransformObject>[0]) =>
  withoutUnusedSchemas(jsonSchemaTransformObject(input) as OpenApiDoc);
