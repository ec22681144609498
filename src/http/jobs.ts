// /v1/jobs: submit, list, read, cancel, the epochs so far, and a Server-Sent Events stream of them.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { FINISHED } from '../store/jobs.js';
import type { JobEvent } from '../jobs/runner.js';
import { errors } from '../jobs/errors.js';
import { withEtag } from './etag.js';
import {
  EpochList, errorResponses, IdParams, Job, JobList, JobListQuery, JobSpecInput, SinceQuery,
} from './schemas.js';

const notModified = { description: 'Not modified since the ETag sent in If-None-Match', type: 'null' } as never;

export default async function jobRoutes(app: FastifyInstance) {
  const { runner } = app;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const find = (id: string) => runner.get(id) ?? Promise.reject(errors.notFound('job', id));
  // Open event streams never end on their own while a job runs: end them when the server closes,
  // or the close would wait on them (clients reconnect with Last-Event-ID).
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  r.post('/v1/jobs', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'createJob', summary: 'Submit a training job', tags: ['jobs'],
      description: 'Queues a job; it starts when a worker is free. Unknown fields are refused.',
      body: JobSpecInput,
      response: { 202: Job.describe('The queued job (Location: /v1/jobs/{id})'), ...errorResponses(400, 413, 415, 422) },
    },
  }, async (request, reply) => {
    const job = runner.submit(request.body);
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  r.get('/v1/jobs', {
    schema: {
      operationId: 'listJobs', summary: 'List jobs, newest first', tags: ['jobs'],
      querystring: JobListQuery, response: { 200: JobList.describe('A page of jobs'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset, status } = request.query;
    return { ...runner.list({ limit, offset, status }), limit, offset };
  });

  r.get('/v1/jobs/:id', {
    schema: {
      operationId: 'getJob', summary: 'One job, with live progress', tags: ['jobs'],
      description: 'Carries a weak ETag; send it back in If-None-Match to get 304 while nothing changed.',
      params: IdParams, response: { 200: Job.describe('The job'), 304: notModified, ...errorResponses(404) },
    },
  }, async (request, reply) => withEtag(request, reply, await find(request.params.id)));

  r.get('/v1/jobs/:id/epochs', {
    schema: {
      operationId: 'listJobEpochs', summary: "A job's epochs after `since`", tags: ['jobs'],
      params: IdParams, querystring: SinceQuery,
      response: { 200: EpochList.describe('Epochs in order'), 304: notModified, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    await find(request.params.id);
    return withEtag(request, reply, { epochs: app.jobs.epochs(request.params.id, request.query.since) });
  });

  r.post('/v1/jobs/:id/cancel', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'cancelJob', summary: 'Cancel a queued or running job', tags: ['jobs'],
      description: 'A running job stops within one minibatch. Finished jobs answer 409.',
      params: IdParams, response: { 200: Job.describe('The cancelled job'), ...errorResponses(404, 409) },
    },
  }, async (request) => runner.cancel(request.params.id));

  r.get('/v1/jobs/:id/events', {
    schema: {
      operationId: 'streamJobEvents', summary: "A job's progress as Server-Sent Events", tags: ['jobs'],
      description: 'Events: `epoch` (id = the epoch number; the same object as /epochs returns), `progress` inside long epochs, '
        + '`status` (the job) on every state change. A late client first gets the epochs so far, or those after Last-Event-ID. '
        + 'The stream ends after the final status.',
      params: IdParams,
      response: {
        200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } as never,
        ...errorResponses(404),
      },
    },
  }, async (request, reply) => {
    const job = await find(request.params.id);
    const lastId = Number(request.headers['last-event-id'] ?? 0);
    const since = Number.isInteger(lastId) && lastId > 0 ? lastId : 0;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (e: JobEvent) => {
      const id = e.type === 'epoch' ? `id: ${e.data.epoch}\n` : '';
      res.write(`event: ${e.type}\n${id}data: ${JSON.stringify(e.data)}\n\n`);
    };
    let lastEpoch = since;
    const onEvent = (e: JobEvent) => {
      if (e.type === 'epoch') {
        if (e.data.epoch <= lastEpoch) return;
        lastEpoch = e.data.epoch;
      }
      write(e);
      if (e.type === 'status' && FINISHED.includes(e.data.status)) close();
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const close = () => {
      clearInterval(heartbeat);
      runner.events.off(job.id, onEvent);
      streams.delete(close);
      res.end();
    };
    streams.add(close);
    // Subscribe before reading history so no epoch falls between the two.
    runner.events.on(job.id, onEvent);
    request.raw.on('close', close);
    for (const epoch of app.jobs.epochs(job.id, since)) onEvent({ type: 'epoch', data: epoch });
    onEvent({ type: 'status', data: runner.get(job.id)! });
  });
}
