import type http from 'node:http';
import type { Logger } from '../logger.js';
import type { GatewayApi } from './gateway-api.js';

/** What a handler gets: the daemon, the request, its parsed URL and the path's captured parts. */
export interface RouteContext {
  runtime: GatewayApi;
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  params: string[];
  /** The control plane's logger: for lifecycle lines an operator should see (a pairing window). */
  log: Logger;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** Anchored; capture groups become `params`, URL-decoded. */
  path: RegExp;
  handle(ctx: RouteContext): Promise<void> | void;
}
