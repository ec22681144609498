// The dashboard's static files (built into dist/public by scripts/build.mjs), served at /.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../root.js';

export default fp(async (app: FastifyInstance) => {
  const dir = join(ROOT, 'dist/public');
  if (!existsSync(dir)) return;
  await app.register(fastifyStatic, { root: dir, prefix: '/', index: ['index.html'], wildcard: false });
}, { name: 'dashboard' });

