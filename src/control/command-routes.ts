import picomatch from 'picomatch';
import type { HeldFilter } from '../commands/router.js';
import { FieldgateError } from '../errors.js';
import type { GatewayApi } from './gateway-api.js';
import { readJson, reply } from './http.js';
import type { Route } from './route.js';

function routerOf(runtime: GatewayApi) {
  const router = runtime.commandRouter();
  // The control socket opens after the router started, so this is an invariant, not a state to wait out.
  if (router === undefined) throw new FieldgateError('FG_INTERNAL', 'the command router has not started');
  return router;
}

/** The filter of a list or purge; `device` is a glob, `route` and `id` are matched exactly. */
function filterOf(
  runtime: GatewayApi,
  fields: { device?: unknown; route?: unknown; id?: unknown },
): HeldFilter {
  const filter: HeldFilter = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && (typeof value !== 'string' || value === ''))
      throw new FieldgateError('FG_USAGE', `${name} must be a non-empty string`);
  }
  if (typeof fields.device === 'string') filter.device = picomatch(fields.device, { dot: true });
  if (typeof fields.route === 'string') {
    if (!runtime.routeNames().includes(fields.route))
      throw new FieldgateError(
        'FG_NOT_FOUND',
        `no route ${fields.route}; routes: ${runtime.routeNames().join(', ')}`,
      );
    filter.route = fields.route;
  }
  if (typeof fields.id === 'string') filter.id = fields.id;
  return filter;
}

const param = (url: URL, name: string): string | undefined => url.searchParams.get(name) ?? undefined;

/** Held commands: list them, purge them (each purged one is answered `rejected` on its route). */
export const commandRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/commands$/,
    handle: ({ runtime, res, url }) => {
      const filter = filterOf(runtime, {
        device: param(url, 'device'),
        route: param(url, 'route'),
        id: param(url, 'id'),
      });
      reply(res, 200, { commands: routerOf(runtime).held(filter) });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/commands\/purge$/,
    handle: async ({ runtime, req, res }) => {
      const body = await readJson(req);
      const { device, route, id, all } = body;
      if (all !== undefined && typeof all !== 'boolean')
        throw new FieldgateError('FG_USAGE', 'all must be true or false');
      if (all !== true && device === undefined && route === undefined && id === undefined)
        throw new FieldgateError('FG_USAGE', 'say what to purge: device, route, id, or all');
      const router = routerOf(runtime);
      reply(res, 200, await router.purge(filterOf(runtime, { device, route, id })));
    },
  },
];
