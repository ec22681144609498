// /v1/searches: submit a hyperparameter search, list and read searches (the leaderboard), cancel one,
// and a Server-Sent Events stream of its trials.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { SearchEvent } from '../services/searches/index.js';
import { errorResponses, IdParams, PageQuery, Search, SearchInput, SearchList } from './schemas.js';
import { EVENT_STREAM_RESPONSE, serveEvents, streamRegistry } from './sse.js';

const finished = (status: string) => status !== 'running';

export default async function searchRoutes(app: FastifyInstance) {
  const { searches } = app.services;
  const r = app.withTypeProvider<ZodTypeProvider>();
  const streams = streamRegistry(app);

  r.post('/v1/searches', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'createSearch', summary: 'Start a hyperparameter search', tags: ['searches'],
      description: 'Expands the space into trials (every grid combination, or `trials` seeded random draws), validates each '
        + "trial's job spec as a job's would be (a 422 names the trial, its values and the field), and queues the trials as "
        + 'ordinary jobs on the shared pool. Fairness: a search has at most `parallel` trials queued or running; the rest are '
        + 'held, and a trial let go after a rung joins the back of the queue, so other jobs wait behind at most `parallel` '
        + 'trials of each search. Successive halving (ASHA) is decided in trial order: the same search gives the same stops '
        + 'and the same best however many workers run it.',
      body: SearchInput,
      response: { 202: Search.describe('The search (Location: /v1/searches/{id})'), ...errorResponses(400, 413, 415, 422) },
    },
  }, async (request, reply) => {
    const search = await searches.submit(request.body);
    return reply.code(202).header('location', `/v1/searches/${search.id}`).send(search);
  });

  r.get('/v1/searches', {
    schema: {
      operationId: 'listSearches', summary: 'List searches, newest first (without their trials)', tags: ['searches'],
      querystring: PageQuery, response: { 200: SearchList.describe('A page of searches'), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit, offset } = request.query;
    return { ...await searches.list(limit, offset), limit, offset };
  });

  r.get('/v1/searches/:id', {
    schema: {
      operationId: 'getSearch', summary: 'One search: progress, its trials best first, the best trial', tags: ['searches'],
      params: IdParams, response: { 200: Search.describe('The search'), ...errorResponses(404) },
    },
  }, async (request) => searches.get(request.params.id));

  r.post('/v1/searches/:id/cancel', {
    config: { rateLimit: app.writeRateLimit },
    schema: {
      operationId: 'cancelSearch', summary: 'Cancel a running search', tags: ['searches'],
      description: 'Its trials still queued or running are cancelled (a running one stops within one minibatch); finished '
        + 'trials keep their models. A search that has ended answers 409.',
      params: IdParams, response: { 200: Search.describe('The cancelled search'), ...errorResponses(404, 409) },
    },
  }, async (request) => searches.cancel(request.params.id));

  r.get('/v1/searches/:id/events', {
    schema: {
      operationId: 'streamSearchEvents', summary: "A search's trials as Server-Sent Events", tags: ['searches'],
      description: 'Events: `search` (the search, as GET returns it) first and on every change of a trial\'s state or a '
        + 'halving decision; `epoch` for every epoch a trial finishes ({jobId, index, and the epoch as /v1/jobs/{id}/epochs '
        + 'returns it}). Earlier epochs are at /v1/jobs/{jobId}/epochs. The stream ends after the search ends.',
      params: IdParams,
      response: {
        200: EVENT_STREAM_RESPONSE,
        ...errorResponses(404),
      },
    },
  }, async (request, reply) => {
    await serveEvents(request, reply, streams, {
      exists: () => searches.get(request.params.id),
      follow: (stream) => searches.follow(request.params.id, (e: SearchEvent) => stream.send(e.type, e.data, {
        last: e.type === 'search' && finished(e.data.status),
      })),
    });
  });
}
