import { FieldgateError } from '../errors.js';
import type { Route } from './route.js';
import { commandRoutes } from './command-routes.js';
import { deviceRoutes } from './device-routes.js';
import { provisioningRoutes } from './provisioning-routes.js';
import { queueRoutes } from './queue-routes.js';
import { streamRoutes } from './stream-routes.js';
import { reply } from './http.js';
import { isReady } from '../health/status.js';

export type { Route, RouteContext } from './route.js';

/**
 * The control plane's API (docs/architecture.md#control-plane). Reads are GET; anything that changes the
 * gateway is POST/DELETE.
 */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: /^\/v1\/status$/, handle: ({ runtime, res }) => reply(res, 200, runtime.status()) },
  { method: 'GET', path: /^\/healthz$/, handle: ({ res }) => reply(res, 200, { ok: true }) },
  {
    method: 'GET',
    path: /^\/readyz$/,
    handle: ({ runtime, res }) => {
      const status = runtime.status();
      const ready = isReady(status);
      reply(res, ready ? 200 : 503, { ready, problems: status.problems });
    },
  },
  ...deviceRoutes,
  ...commandRoutes,
  ...queueRoutes,
  ...streamRoutes,
  ...provisioningRoutes,
];

/**
 * The route for a request, with its captured parameters; undefined when none matches.
 * @throws FieldgateError `FG_USAGE` when a parameter's percent-encoding is malformed.
 */
export function matchRoute(method: string, pathname: string): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.path.exec(pathname);
    if (match !== null) return { route, params: match.slice(1).map(decodeParam) };
  }
  return undefined;
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (e) {
    throw new FieldgateError('FG_USAGE', `bad percent-encoding in the path: ${raw}`, { cause: e });
  }
}
