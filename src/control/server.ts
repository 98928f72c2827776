import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { FieldgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Runtime } from '../runtime.js';
import { replyError } from './http.js';
import { matchRoute } from './routes.js';
import { giveSocketTo, openDirectoryTo, resolveSocketGroup } from './socket-group.js';

/** The socket's mode: the daemon's user and the CLI group (`control.group`), nobody else. */
export const SOCKET_MODE = 0o660;
/** The directory's mode: the real protection, since a socket is reachable the moment it is bound. */
export const SOCKET_DIR_MODE = 0o750;

/**
 * The control plane (DESIGN.md §8): HTTP/1.1 + JSON over a unix socket, served to the CLI. The socket is
 * created 0660 inside a 0750 directory and given to the CLI group (`control.group`, default
 * `fieldgate-cli`), whose members need not be in the service's group; a stale socket from a crashed run is
 * removed first. Nothing listens on TCP. Every failure is answered `{ error, code }` with the
 * FieldgateError code.
 */
export class ControlServer {
  readonly #server: http.Server;

  constructor(
    private readonly options: {
      runtime: Runtime;
      socketPath: string;
      /** `control.group`: undefined tries the default group, '' keeps the daemon's own. */
      group?: string | undefined;
      log: Logger;
    },
  ) {
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => replyError(res, e));
    });
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
    log.info({ socket: socketPath, group: socketGroup ?? 'the daemon’s own' }, 'Control plane listening.');
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fieldgate');
    const method = req.method ?? 'GET';
    const found = matchRoute(method, url.pathname);
    if (found === undefined)
      throw new FieldgateError('FG_NOT_FOUND', `no such endpoint: ${method} ${url.pathname}`);
    await found.route.handle({ runtime: this.options.runtime, req, res, url, params: found.params });
  }
}
