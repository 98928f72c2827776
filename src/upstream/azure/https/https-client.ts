import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { TlsMaterial } from '../../common/tls-files.js';
import { MAX_INBOUND_PAYLOAD_BYTES } from '../../inbound/inbound-limits.js';

/** One HTTP exchange with the hub: status, headers and the whole body. */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Empty when the body was too large to read (see `oversizeBytes`). */
  body: Buffer;
  /** The body was larger than `maxBodyBytes`: reading stopped there and the connection was dropped. */
  oversizeBytes?: number;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/devices/gw/messages/events?api-version=…`. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest response body read; default {@link MAX_INBOUND_PAYLOAD_BYTES}. */
  maxBodyBytes?: number;
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
          const status = res.statusCode ?? 0;
          const maxBytes = call.maxBodyBytes ?? MAX_INBOUND_PAYLOAD_BYTES;
          const tooLarge = (bytes: number): void => {
            // Resolve before destroying: the request's own 'error' that follows is then ignored.
            resolve({ status, headers: res.headers, body: Buffer.alloc(0), oversizeBytes: bytes });
            req.destroy();
          };
          const declared = Number(res.headers['content-length'] ?? 0);
          if (declared > maxBytes) return tooLarge(declared);
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes > maxBytes) tooLarge(bytes);
            else chunks.push(c);
          });
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
