import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebConfig } from '../config/web.js';
import type { GatewayApi } from '../control/gateway-api.js';
import { reply, replyError } from '../control/http.js';
import { matchRoute } from '../control/routes.js';
import { FieldgateError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Reading } from '../model.js';
import { loadAssets, type Asset } from './assets.js';
import { SESSION_COOKIE, SESSION_TTL_MS, WebAuth, type Viewer } from './auth.js';
import { setSecurityHeaders } from './headers.js';
import { WebHistory } from './history.js';
import type { LogRing } from './log-ring.js';
import { SseClient } from './sse.js';

/** How often open pages get the status, and the history takes a sample (the chart's step is SAMPLE_EVERY). */
export const TICK_MS = 1000;
const SAMPLE_EVERY_TICKS = 2;
/** Readings sent to the pages per flush at most; the rest are counted (the pages show current values). */
const MAX_READINGS_PER_FLUSH = 500;
/** Readings are gathered this long before they go out: one event per burst, not one per reading. */
const READINGS_FLUSH_MS = 100;
/** Largest request body taken (login form, command); more is answered 413 and the connection closed. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Connections at once; a flood beyond this is closed as it is accepted, never costing the daemon more. */
const MAX_CONNECTIONS = 128;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export interface WebServerOptions {
  api: GatewayApi;
  config: WebConfig;
  log: Logger;
  /** The daemon's recent log lines, for the live log; without it the page says logs are not kept. */
  logs?: LogRing | undefined;
  now?: () => number;
}

/**
 * The local status page (docs/status-page.md): static files from the package, JSON reads, the control
 * plane's own routes under `/api/v1/` (so the page and the CLI run the same code), and one SSE stream per
 * open page. Reads need a viewer (a token, unless none is configured on loopback); anything that changes
 * the gateway needs a token with `actions: true`.
 */
export class WebServer {
  readonly #server: http.Server;
  readonly #auth: WebAuth;
  readonly history = new WebHistory();
  readonly #clients = new Set<SseClient>();
  #assets = new Map<string, Asset>();
  #pending: Reading[] = [];
  #skipped = 0;
  #ticks = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void)[] = [];
  #refusedLogins = 0;
  readonly #now: () => number;

  constructor(private readonly options: WebServerOptions) {
    this.#now = options.now ?? Date.now;
    this.#auth = new WebAuth(options.config.tokens, this.#now);
    this.#server = http.createServer({ connectionsCheckingInterval: 2000 }, (req, res) => {
      setSecurityHeaders(res);
      this.#handle(req, res).catch((e: unknown) => {
        // A body we did not read to its end would be parsed as the next request: close instead.
        if (!req.complete) res.setHeader('connection', 'close');
        replyError(res, e);
      });
    });
    this.#server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.#server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.#server.maxConnections = MAX_CONNECTIONS;
    this.#server.maxHeadersCount = 64;
    this.#server.on('clientError', (_e: Error, socket: Duplex) => {
      if (socket.writable)
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      socket.destroy();
    });
  }

  /** The bound address, once listening (port 0 picks a free one). */
  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  async listen(): Promise<void> {
    const { config, api, log } = this.options;
    this.#assets = await loadAssets();
    const separator = config.listen.lastIndexOf(':');
    const host = config.listen.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
    const port = Number(config.listen.slice(separator + 1));
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    }).catch((e: unknown) => {
      throw new FieldgateError(
        'FG_CONFIG_INVALID',
        `web.listen: the status page cannot listen on ${config.listen}: ${errorMessage(e)}`,
        { cause: e },
      );
    });
    this.#unsubscribe.push(
      api.tail.subscribe((readings) => this.#onReadings(readings)),
      api.onDevice((event, info) => {
        if (event === 'removed') this.history.forget(info.id);
        this.#broadcast('device', { event, device: info });
      }),
    );
    if (this.options.logs !== undefined)
      this.#unsubscribe.push(this.options.logs.subscribe((line) => this.#broadcast('log', line)));
    this.history.sample(api.status(), this.#now());
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    log.info(
      { listen: `${host}:${this.port}`, tokens: config.tokens.length, maxClients: config.maxClients },
      'Status page listening.',
    );
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#flushTimer);
    for (const off of this.#unsubscribe) off();
    for (const client of this.#clients) client.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Open live-update streams. */
  get clients(): number {
    return this.#clients.size;
  }

  #onReadings(readings: readonly Reading[]): void {
    this.history.record(readings);
    if (this.#clients.size === 0) return;
    for (const reading of readings) {
      if (this.#pending.length < MAX_READINGS_PER_FLUSH) this.#pending.push(reading);
      else this.#skipped++;
    }
    this.#flushTimer ??= setTimeout(() => this.#flushReadings(), READINGS_FLUSH_MS);
  }

  #flushReadings(): void {
    this.#flushTimer = undefined;
    if (this.#pending.length === 0 && this.#skipped === 0) return;
    this.#broadcast('readings', { readings: this.#pending, skipped: this.#skipped });
    this.#pending = [];
    this.#skipped = 0;
  }

  #tick(): void {
    const status = this.options.api.status();
    const now = this.#now();
    const samples = ++this.#ticks % SAMPLE_EVERY_TICKS === 0 ? this.history.sample(status, now) : undefined;
    if (this.#clients.size === 0) return;
    this.#broadcast('status', { status, inPerS: this.history.inPerS, samples, at: now });
  }

  #broadcast(event: string, data: unknown): void {
    for (const client of this.#clients) client.send(event, data);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const url = parseTarget(target);
    const method = req.method ?? 'GET';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return tooLarge(res);

    if (method === 'POST' && url.pathname === '/login') return this.#login(req, res);
    if (method === 'POST' && url.pathname === '/logout') {
      this.#auth.endSession(req);
      res.setHeader('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
      res.writeHead(303, { location: '/login' }).end();
      return;
    }
    const asset = this.#assets.get(url.pathname);
    if (method === 'GET' && asset !== undefined && url.pathname !== '/') return sendAsset(req, res, asset);

    const viewer = this.#auth.check(req);
    if (url.pathname === '/') {
      if (method !== 'GET') throw new FieldgateError('FG_NOT_FOUND', `no such page: ${method} /`);
      if (viewer === undefined) {
        res.writeHead(303, { location: '/login' }).end();
        return;
      }
      return sendAsset(req, res, this.#assets.get('/')!);
    }
    if (!url.pathname.startsWith('/api/'))
      throw new FieldgateError('FG_NOT_FOUND', `no such page: ${url.pathname.slice(0, 200)}`);
    res.setHeader('cache-control', 'no-store');
    if (viewer === undefined) {
      reply(res, 401, {
        error: 'a token is needed: log in, or send Authorization: Bearer <token>',
        code: 'FG_USAGE',
      });
      return;
    }
    return this.#api(req, res, url, method, viewer);
  }

  async #api(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    method: string,
    viewer: Viewer,
  ): Promise<void> {
    const { api } = this.options;
    if (method === 'GET') {
      switch (url.pathname) {
        case '/api/whoami':
          return reply(res, 200, {
            name: viewer.name,
            mayAct: viewer.mayAct,
            isTokenRequired: this.#auth.isRequired,
            gateway: api.status().gateway,
            adapters: api.status().adapters.map((a) => a.name),
            routes: api.routeNames(),
          });
        case '/api/events':
          return this.#events(res);
        case '/api/history':
          return reply(res, 200, { routes: this.history.routes(), sampleMs: TICK_MS * SAMPLE_EVERY_TICKS });
        case '/api/devices':
          return reply(res, 200, {
            devices: api.devices
              .list()
              .map((info) => ({ ...info, current: api.devices.currentValues(info.id) })),
          });
        case '/api/logs':
          return reply(res, 200, {
            isKept: this.options.logs !== undefined,
            lines: this.options.logs?.lines() ?? [],
          });
        default:
      }
      const history = /^\/api\/devices\/([^/]+)\/history$/.exec(url.pathname);
      if (history !== null) {
        const id = api.devices.resolve(decodeParam(history[1]!));
        if (id === undefined) throw new FieldgateError('FG_NOT_FOUND', 'no such device');
        return reply(res, 200, { device: id, values: this.history.deviceValues(id) });
      }
    }
    if (!url.pathname.startsWith('/api/v1/'))
      throw new FieldgateError('FG_NOT_FOUND', `no such endpoint: ${method} ${url.pathname.slice(0, 200)}`);
    if (method !== 'GET') {
      if (!viewer.mayAct) {
        reply(res, 403, {
          error: `the token ${viewer.name} may only look (web.tokens[].actions is false)`,
          code: 'FG_USAGE',
        });
        return;
      }
      // A form on another site cannot send JSON without the browser asking first: no cross-site actions.
      if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
        throw new FieldgateError('FG_USAGE', 'actions take a JSON body (content-type: application/json)');
    }
    const found = matchRoute(method, url.pathname.slice('/api'.length));
    if (found === undefined)
      throw new FieldgateError('FG_NOT_FOUND', `no such endpoint: ${method} ${url.pathname.slice(0, 200)}`);
    if (method !== 'GET')
      this.options.log.info(
        { viewer: viewer.name, action: `${method} ${url.pathname}` },
        'Status page action.',
      );
    await found.route.handle({ runtime: api, req, res, url, params: found.params, log: this.options.log });
  }

  #events(res: http.ServerResponse): void {
    if (this.#clients.size >= this.options.config.maxClients) {
      res.setHeader('retry-after', '10');
      reply(res, 503, {
        error: `too many open pages (web.maxClients is ${this.options.config.maxClients})`,
        code: 'FG_USAGE',
      });
      return;
    }
    const client = new SseClient(res);
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
    const status = this.options.api.status();
    client.send('status', { status, inPerS: this.history.inPerS, at: this.#now() });
  }

  async #login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const form = new URLSearchParams(body);
    const token = form.get('token') ?? '';
    const viewer = this.#auth.isRequired ? this.#auth.viewerFor(token) : { name: 'local', mayAct: false };
    if (viewer === undefined) {
      if (this.#refusedLogins++ === 0)
        this.options.log.warn({ from: req.socket.remoteAddress }, 'Status page login refused: wrong token.');
      res.writeHead(303, { location: '/login#refused' }).end();
      return;
    }
    this.#refusedLogins = 0;
    this.options.log.info({ viewer: viewer.name, from: req.socket.remoteAddress }, 'Status page login.');
    const session = this.#auth.startSession(viewer);
    res.setHeader(
      'set-cookie',
      `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`,
    );
    res.writeHead(303, { location: '/' }).end();
  }
}

/** Only origin-form targets (`/path?query`); anything else is the client's mistake, a 400. */
function parseTarget(target: string): URL {
  if (target.startsWith('/')) {
    try {
      return new URL(`http://page${target}`);
    } catch {
      // Reported below.
    }
  }
  throw new FieldgateError('FG_USAGE', `bad request-target (expected /path): ${target.slice(0, 200)}`);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (e) {
    throw new FieldgateError('FG_USAGE', `bad percent-encoding in the path: ${raw.slice(0, 200)}`, {
      cause: e,
    });
  }
}

function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, asset: Asset): void {
  const isGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = isGzip ? asset.gzip : asset.body;
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': body.length,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    ...(isGzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(body);
}

function tooLarge(res: http.ServerResponse): void {
  res.setHeader('connection', 'close');
  reply(res, 413, { error: `request body too large (at most ${MAX_BODY_BYTES} bytes)`, code: 'FG_USAGE' });
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new FieldgateError('FG_USAGE', 'request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
