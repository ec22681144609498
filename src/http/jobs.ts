// /v1/jobs: submit, list, read, cancel, the epochs so far, and a Server-Sent Events stream of them.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { isFinished, type JobEvent } from '../services/jobs/index.js';
import { withEtag } from './etag.js';
import { EVENT_STREAM_RESPONSE, serveEvents, streamRegistry } from './sse.js';
import {
  EpochList, errorResponses, IdParams, Job, JobList, JobListQuery, JobSpecInput, SinceQuery,
} from './schemas.js';

const notModified = { description: 'Not modified since the ETag sent in If-None-Match', type: 'null' } as never;

export default async function jobRoutes(app: FastifyInstance) {
  const { jobs } = app.services;
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Open event streams never end on their own while a job runs (clients reconnect with Last-Event-ID).
  const streams = streamRegistry(app);

  r.post('/v1/jobs', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'createJob', summary: 'Submit a training job', tags: ['jobs'],
      description: 'Queues a job; it starts when a worker is free. Unknown fields are refused.',
      body: JobSpecInput,
      response: { 202: Job.describe('The queued job (Location: /v1/jobs/{id})'), ...errorResponses(400, 413, 415, 422) },
    },
  }, async (request, reply) => {
    const job = await jobs.submit(request.body);
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  r.get('/v1/jobs', {
    schema: {
      operationId: 'listJobs', summary: 'List jobs, newest first', tags: ['jobs'],
      description: 'Carries a weak ETag; send it back in If-None-Match to get 304 while nothing changed.',
      querystring: JobListQuery, response: { 200: JobList.describe('A page of jobs'), 304: notModified, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const { limit, offset, status, searchId } = request.query;
    return withEtag(request, reply, { ...await jobs.list({ limit, offset, status, searchId }), limit, offset });
  });

  r.get('/v1/jobs/:id', {
    schema: {
      operationId: 'getJob', summary: 'One job, with live progress', tags: ['jobs'],
      description: 'Carries a weak ETag; send it back in If-None-Match to get 304 while nothing changed.',
      params: IdParams, response: { 200: Job.describe('The job'), 304: notModified, ...errorResponses(404) },
    },
  }, async (request, reply) => withEtag(request, reply, await jobs.get(request.params.id)));

  r.get('/v1/jobs/:id/epochs', {
    schema: {
      operationId: 'listJobEpochs', summary: "A job's epochs after `since`", tags: ['jobs'],
      params: IdParams, querystring: SinceQuery,
      response: { 200: EpochList.describe('Epochs in order'), 304: notModified, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    return withEtag(request, reply, { epochs: await jobs.epochs(request.params.id, request.query.since) });
  });

  r.post('/v1/jobs/:id/cancel', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'cancelJob', summary: 'Cancel a queued or running job', tags: ['jobs'],
      description: 'A running job stops within one minibatch. Finished jobs answer 409.',
      params: IdParams, response: { 200: Job.describe('The cancelled job'), ...errorResponses(404, 409) },
    },
  }, async (request) => jobs.cancel(request.params.id));

  r.get('/v1/jobs/:id/events', {
    schema: {
      operationId: 'streamJobEvents', summary: "A job's progress as Server-Sent Events", tags: ['jobs'],
      description: 'Events: `epoch` (id = the epoch number; the same object as /epochs returns), `progress` inside long epochs '
        + '({epoch, fraction, loss (the running mean training cost), progress, samplesPerSec, etaSeconds}), '
        + '`status` (the job) on every state change. A late client first gets the epochs so far, or those after Last-Event-ID. '
        + 'The stream ends after the final status.',
      params: IdParams,
      response: {
        200: EVENT_STREAM_RESPONSE,
        ...errorResponses(404),
      },
    },
  }, async (request, reply) => {
    const lastId = Number(request.headers['last-event-id'] ?? 0);
    const since = Number.isInteger(lastId) && lastId > 0 ? lastId : 0;
    await serveEvents(request, reply, streams, {
      exists: () => jobs.get(request.params.id),
      follow: (stream) => jobs.follow(request.params.id, since, (e: JobEvent) => stream.send(e.type, e.data, {
        id: e.type === 'epoch' ? e.data.epoch : undefined,
        last: e.type === 'status' && isFinished(e.data.status),
      })),
    });
  });
}
