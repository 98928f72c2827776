import { Agent, request } from 'node:https';
import type { TlsMaterial } from './tls-material.js';

/**
 * ALPN protocol IoT Core requires for HTTPS publish with a client certificate on port 443
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication).
 */
export const HTTPS_ALPN = 'x-amzn-http-ca';

/** What one HTTPS publish came to. */
export type HttpsPublishOutcome =
  | { kind: 'ok' }
  /** 429/503 or a network failure: try again later (`retryAfterMs` when the server said). */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 401/403: our certificate or the policy refused us; kept and retried, but the operator must look. */
  | { kind: 'auth'; reason: string }
  /** 400/413: this message can never be accepted. */
  | { kind: 'reject'; reason: string };

export interface HttpsPublisherOptions {
  host: string;
  port: number;
  tls: TlsMaterial;
  timeoutMs: number;
}

/**
 * IoT Core's HTTPS publish (docs/clouds/aws-iot-core.md#https-publish-and-basic-ingest):
 * `POST /topics/{url-encoded topic}?qos=1` over mutual TLS, one message per
 * request, on a keep-alive agent so the handshake is paid once. There is no client id, no subscription and
 * no offline delivery on this transport. Never throws: every failure becomes an outcome.
 */
export class HttpsPublisher {
  readonly #options: HttpsPublisherOptions;
  readonly #agent: Agent;

  constructor(options: HttpsPublisherOptions) {
    this.#options = options;
    const { tls } = options;
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      cert: tls.cert,
      key: tls.key,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      servername: tls.servername,
      ...(options.port === 443 ? { ALPNProtocols: [HTTPS_ALPN] } : {}),
      minVersion: 'TLSv1.2',
    });
  }

  /** POST one message; a stated `contentType` goes in the query (what MQTT 5 subscribers see) and the header. */
  publish(
    message: { topic: string; payload: Buffer; contentType?: string },
    signal: AbortSignal,
  ): Promise<HttpsPublishOutcome> {
    const { topic, payload, contentType } = message;
    const typeQuery = contentType === undefined ? '' : `&contentType=${encodeURIComponent(contentType)}`;
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.#agent,
          host: this.#options.host,
          port: this.#options.port,
          method: 'POST',
          // Without qos=1 the service uses QoS 0
          // (docs/clouds/aws-iot-core.md#https-publish-and-basic-ingest): no delivery guarantee to
          // subscribers.
          path: `/topics/${encodeURIComponent(topic)}?qos=1${typeQuery}`,
          headers: { 'content-type': contentType ?? 'application/json', 'content-length': payload.length },
          timeout: this.#options.timeoutMs,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => resolve({ kind: 'retry', reason: `response failed: ${e.message}` }));
          res.on('end', () =>
            resolve(
              outcomeOf(
                res.statusCode ?? 0,
                Buffer.concat(chunks).toString('utf8'),
                res.headers['retry-after'],
              ),
            ),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ kind: 'retry', reason: `HTTPS publish failed: ${e.message}` }));
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Classify an HTTPS publish reply. Pure. */
export function outcomeOf(status: number, body: string, retryAfter: string | undefined): HttpsPublishOutcome {
  if (status === 200) return { kind: 'ok' };
  const reason = `HTTP ${status}: ${body.slice(0, 200)}`;
  if (status === 401 || status === 403) return { kind: 'auth', reason };
  if (status === 400 || status === 413) return { kind: 'reject', reason };
  const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
  return Number.isFinite(seconds) && seconds >= 0
    ? { kind: 'retry', reason, retryAfterMs: seconds * 1000 }
    : { kind: 'retry', reason };
}
