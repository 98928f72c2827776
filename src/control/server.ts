import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { FieldgateError } from '../errors.js';
import type { ControlStats } from './control-stats.js';
import type { GatewayApi } from './gateway-api.js';
import type { Logger } from '../logger.js';
import { readFdBudget } from './fd-budget.js';
import { replyError } from './http.js';
import { matchRoute } from './routes.js';
import { giveSocketTo, openDirectoryTo, resolveSocketGroup } from './socket-group.js';

/** The socket's mode: the daemon's user and the CLI group (`control.group`), nobody else. */
export const SOCKET_MODE = 0o660;
/** The directory's mode: the real protection, since a socket is reachable the moment it is bound. */
export const SOCKET_DIR_MODE = 0o750;

/**
 * A client that connects and sends nothing, or a request slowly, holds a descriptor: it gets this long for its
 * headers and whole request. Streams (`tail`, `pair`) are not affected: their request is complete at once.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
/** An idle keep-alive connection between two requests is closed after this long. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How long an error reply may take to leave before its connection is closed anyway. */
const CLIENT_ERROR_LINGER_MS = 1_000;
/** How often Node checks the two timeouts above (its default, 30 s, would let idle clients linger 40 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 2_000;

export type { ControlStats } from './control-stats.js';

/**
 * The control plane (docs/architecture.md#control-plane, docs/control-plane.md): HTTP/1.1 + JSON over a unix
 * socket, served to the CLI. The socket is created 0660 inside a 0750 directory and given to the CLI group
 * (`control.group`, default `fieldgate-cli`), whose members need not be in the service's group; a stale socket
 * from a crashed run is removed first. Nothing listens on TCP. Every failure is answered `{ error, code }`
 * with the FieldgateError code.
 *
 * Concurrent connections are capped below the descriptor limit (`fd-budget.ts`): connections beyond the cap
 * are closed as soon as they are accepted, counted, and logged once per episode, so a flood of clients can
 * never take the descriptors the queue database needs.
 */
export class ControlServer {
  readonly #server: http.Server;
  #connections = 0;
  #refused = 0;
  /** Refusals in the current episode; undefined while connections are accepted. */
  #refusing: number | undefined;

  constructor(
    private readonly options: {
      runtime: GatewayApi;
      socketPath: string;
      /** `control.group`: undefined tries the default group, '' keeps the daemon's own. */
      group?: string | undefined;
      log: Logger;
      maxConnections?: number;
    },
  ) {
    this.#server = http.createServer(
      { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      (req, res) => {
        this.#handle(req, res).catch((e: unknown) => replyError(res, e));
      },
    );
    this.#server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.#server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.#server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    this.#server.maxConnections = options.maxConnections ?? readFdBudget().maxConnections;
    this.#server.on('connection', (socket: Duplex) => this.#onConnection(socket));
    this.#server.on('drop', () => this.#onRefused());
    this.#server.on('clientError', (e: NodeJS.ErrnoException, socket: Duplex) => replyClientError(e, socket));
  }

  async listen(): Promise<void> {
    const { socketPath, log } = this.options;
    const dir = path.dirname(socketPath);
    await mkdir(dir, { recursive: true, mode: SOCKET_DIR_MODE });
    // mkdir leaves an existing directory alone; under systemd it is the RuntimeDirectory, already 0750.
    const group = await resolveSocketGroup(this.options.group, log);
    // The directory first, while no socket is in it: the group may pass through before there is anything.
    if (group !== undefined) await openDirectoryTo(dir, socketPath, group, log);
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(socketPath, () => resolve());
    });
    // Bound under the daemon's umask and group; only now does the CLI group get it, read-write.
    await chmod(socketPath, SOCKET_MODE);
    const socketGroup = group === undefined ? undefined : await giveSocketTo(socketPath, group, log);
    log.info(
      {
        socket: socketPath,
        group: socketGroup ?? 'the daemon’s own',
        maxConnections: this.#server.maxConnections,
      },
      'Control plane listening.',
    );
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  stats(): ControlStats {
    return {
      connections: this.#connections,
      maxConnections: this.#server.maxConnections,
      refusedConnections: this.#refused,
      tail: this.options.runtime.tail.stats(),
    };
  }

  #onConnection(socket: Duplex): void {
    this.#connections++;
    socket.once('close', () => this.#connections--);
    if (this.#refusing !== undefined) {
      this.options.log.info(
        { refused: this.#refusing, connections: this.#connections },
        'Control connections are accepted again.',
      );
      this.#refusing = undefined;
    }
  }

  #onRefused(): void {
    this.#refused++;
    if (this.#refusing === undefined) {
      this.#refusing = 0;
      this.options.log.warn(
        { maxConnections: this.#server.maxConnections },
        'Too many control connections: refusing new ones until some close. Readings are not affected.',
      );
    }
    this.#refusing++;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = parseTarget(req.url ?? '/');
    const method = req.method ?? 'GET';
    const found = matchRoute(method, url.pathname);
    if (found === undefined)
      throw new FieldgateError('FG_NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`);
    await found.route.handle({
      runtime: this.options.runtime,
      req,
      res,
      url,
      params: found.params,
      log: this.options.log,
    });
  }
}

/** The request-target as a URL; `//%` and its kind are the client's mistake: a 4xx, not a 500. */
function parseTarget(target: string): URL {
  // Only origin-form (`/path?query`) is served. Appended to the origin, `//x` stays a path instead of
  // naming a host, as it would if resolved against a base URL.
  if (target.startsWith('/')) {
    try {
      return new URL(`http://fieldgate${target}`);
    } catch {
      // Reported below.
    }
  }
  throw new FieldgateError('FG_USAGE', `bad request-target (expected /path): ${target.slice(0, 200)}`);
}

/**
 * Requests Node's parser refuses (bad syntax, headers too large, too slow) are answered like every other
 * failure, `{ error, code }`, instead of Node's bare status line; then the connection is closed.
 */
function replyClientError(e: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text] =
    e.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const body = JSON.stringify({
    error:
      status === 408 ? 'the request did not arrive in time' : `malformed request (${e.code ?? e.message})`,
    code: 'FG_USAGE',
  });
  // The server allows half-open sockets: end() alone would leave a silent peer's descriptor open for good.
  const giveUp = setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
    () => {
      clearTimeout(giveUp);
      socket.destroy();
    },
  );
}
