import { FieldgateError } from '../errors.js';
import type { GatewayApi } from './gateway-api.js';
import { reply } from './http.js';
import type { Route } from './route.js';

const DEFAULT_DLQ_LIMIT = 100;

function queueOf(runtime: GatewayApi, route: string) {
  const queue = runtime.queueOf(route);
  if (queue === undefined)
    throw new FieldgateError('FG_NOT_FOUND', `no route ${route}; routes: ${runtime.routeNames().join(', ')}`);
  return queue;
}

/** Queues: backlog per route, dead letters and their replay. */
export const queueRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/queues$/,
    handle: ({ runtime, res }) =>
      reply(res, 200, {
        queues: runtime.status().routes.map((r) => ({ route: r.name, ...r.queue, drainEtaS: r.drainEtaS })),
      }),
  },
  {
    method: 'GET',
    path: /^\/v1\/queues\/([^/]+)\/dead-letters$/,
    handle: async ({ runtime, res, url, params: [route = ''] }) => {
      const limit = Number(url.searchParams.get('limit') ?? DEFAULT_DLQ_LIMIT);
      if (!Number.isInteger(limit) || limit <= 0)
        throw new FieldgateError('FG_USAGE', 'limit must be a positive integer');
      reply(res, 200, { route, deadLetters: await queueOf(runtime, route).deadLetters(limit) });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/queues\/([^/]+)\/replay$/,
    handle: async ({ runtime, res, params: [route = ''] }) => {
      reply(res, 200, { route, replayed: await queueOf(runtime, route).replayDeadLetters() });
    },
  },
];
