import { chmod, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Runtime } from '../runtime.js';
import { errorMessage } from '../errors.js';

/**
 * The control plane (DESIGN.md §8): HTTP/1.1 + JSON over a unix socket, served to the CLI. The socket is
 * created 0660 inside a 0750 directory; a stale socket from a crashed run is removed first. Nothing listens
 * on TCP.
 */
export class ControlServer {
  readonly #server: http.Server;

  constructor(private readonly options: { runtime: Runtime; socketPath: string; log: Logger }) {
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => reply(res, 500, { error: errorMessage(e) }));
    });
  }

  async listen(): Promise<void> {
    const { socketPath } = this.options;
    await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o750 });
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o660);
    this.options.log.info({ socket: socketPath }, 'Control plane listening.');
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const { runtime } = this.options;
    const url = new URL(req.url ?? '/', 'http://fieldgate');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /v1/status':
        return reply(res, 200, runtime.status());
      case 'GET /v1/devices':
        return reply(res, 200, {
          devices: runtime.devices.list(url.searchParams.get('adapter') ?? undefined),
        });
      case 'POST /v1/commands': {
        const body = (await readJson(req)) as {
          device?: unknown;
          name?: unknown;
          args?: unknown;
          ttlMs?: unknown;
        };
        if (typeof body.device !== 'string' || typeof body.name !== 'string') {
          return reply(res, 400, { error: 'device and name are required strings' });
        }
        const args =
          typeof body.args === 'object' && body.args !== null ? (body.args as Record<string, unknown>) : {};
        const ttlMs = typeof body.ttlMs === 'number' ? body.ttlMs : undefined;
        const result = await runtime.sendCommand({
          id: randomUUID(),
          device: body.device,
          name: body.name,
          args,
          ...(ttlMs === undefined ? {} : { expiresAt: Date.now() + ttlMs }),
        });
        return reply(res, 200, result);
      }
      case 'GET /v1/tail': {
        const device = url.searchParams.get('device');
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const unsubscribe = runtime.tail.subscribe((readings) => {
          for (const r of readings)
            if (device === null || r.device === device) res.write(`${JSON.stringify(r)}\n`);
        });
        req.on('close', unsubscribe);
        return;
      }
      default:
        return reply(res, 404, { error: `no such endpoint: ${route}` });
    }
  }
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
