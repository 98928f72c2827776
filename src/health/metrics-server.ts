import http from 'node:http';
import { FieldgateError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { GatewayMetrics } from './metrics.js';
import { isReady, type StatusSnapshot } from './status.js';

export interface MetricsServerOptions {
  /** `host:port`; port 0 picks a free one (tests). */
  listen: string;
  status: () => StatusSnapshot;
  log: Logger;
}

/**
 * The optional HTTP endpoint for Prometheus and probes: `GET /metrics`, `/healthz` (the process answers)
 * and `/readyz` (200 when every adapter runs, 503 with the problems otherwise). Off unless `metrics.listen`
 * is set; meant for loopback, since it has no authentication: any other address is a WARN at start and in
 * `fieldgate doctor` (`findExposures` in exposure.ts).
 */
export class MetricsServer {
  readonly #server: http.Server;
  readonly #metrics: GatewayMetrics;

  constructor(private readonly options: MetricsServerOptions) {
    this.#metrics = new GatewayMetrics(options.status);
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => send(res, 500, 'text/plain', `${errorMessage(e)}\n`));
    });
  }

  async listen(): Promise<void> {
    const separator = this.options.listen.lastIndexOf(':');
    const host = this.options.listen.slice(0, separator).replace(/^\[|\]$/g, '');
    const port = Number(this.options.listen.slice(separator + 1));
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', (e) =>
        reject(
          new FieldgateError('FG_CONFIG_INVALID', `metrics.listen ${this.options.listen}: ${e.message}`),
        ),
      );
      this.#server.listen(port, host, () => resolve());
    });
    this.options.log.info({ address: this.address }, 'Metrics endpoint listening.');
  }

  /** `host:port` actually bound (port 0 resolved). */
  get address(): string {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? `${address.address}:${address.port}` : '';
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed\n');
    switch (pathname) {
      case '/metrics':
        return send(res, 200, this.#metrics.contentType, await this.#metrics.render());
      case '/healthz':
        return send(res, 200, 'application/json', '{"ok":true}\n');
      case '/readyz': {
        const status = this.options.status();
        const ready = isReady(status);
        return send(
          res,
          ready ? 200 : 503,
          'application/json',
          `${JSON.stringify({ ready, problems: status.problems })}\n`,
        );
      }
      default:
        return send(res, 404, 'text/plain', 'not found\n');
    }
  }
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
