import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { TlsMaterial } from '../../common/tls-files.js';

/** One HTTP exchange with the hub: status, headers and the whole body. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/devices/gw/messages/events?api-version=…`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * A minimal HTTPS client bound to one origin with the route's TLS material (custom CA, client
 * certificate); `http://` only for a loopback emulator. Rejects on network failure, never on a status.
 */
export class HttpsClient {
  readonly #origin: URL;
  readonly #tls: TlsMaterial;

  constructor(origin: string, tls: TlsMaterial) {
    this.#origin = new URL(origin);
    this.#tls = tls;
  }

  call(call: HttpCall): Promise<HttpReply> {
    const isPlain = this.#origin.protocol === 'http:';
    const send = isPlain ? plainRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          host: this.#origin.hostname,
          port: this.#origin.port === '' ? (isPlain ? 80 : 443) : Number(this.#origin.port),
          method: call.method,
          path: call.path,
          headers: { ...call.headers, 'content-length': String(call.body?.length ?? 0) },
          timeout: call.timeoutMs,
          ...(isPlain ? {} : this.#tls),
          ...(call.signal === undefined ? {} : { signal: call.signal }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(call.body);
    });
  }
}
