import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  BATCH_CONTENT_TYPE,
  decodeBatchBody,
  fromHttpProperties,
  toHttpProperties,
} from '../../src/upstream/azure/protocol/http-message.js';
import { MAX_BATCH_BYTES, MAX_D2C_BYTES } from '../../src/upstream/azure/protocol/limits.js';
import type { PropertyBag } from '../../src/upstream/azure/protocol/property-bag.js';
import { messageSizeBytes, stampD2c } from './d2c-record.js';
import type { HubServices, ListenOptions } from './front-end-options.js';
import { checkSasToken } from './sas-check.js';
import { certificateMatchesDevice } from './x509-check.js';

/** The HTTPS front end's options; the hub itself listens on 443. */
export type HttpsFrontEndOptions = HubServices & ListenOptions;

/**
 * IoT Hub's device-facing HTTPS routes (docs/clouds/azure-iot-hub.md#https): events (single, with
 * `iothub-app-*` headers,
 * or a `application/vnd.microsoft.iothub.json` batch) answered 204, 413 past 256 KB, 429 when throttled,
 * 403 over quota; C2D receive (200 with the lock token as ETag, or 204 when empty), complete
 * (`DELETE …/{lock}`), reject (`DELETE …/{lock}?reject`) and abandon (`POST …/{lock}/abandon`), 412 on a
 * stale lock. Every request needs a SAS `Authorization` header covering the device in the path, or none
 * and the device's registered TLS client certificate (X.509); 401 otherwise.
 */
export class HttpsFrontEnd {
  readonly port: number;
  readonly #options: HttpsFrontEndOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(options: HttpsFrontEndOptions, server: Server, port: number) {
    this.#options = options;
    this.#server = server;
    this.port = port;
  }

  static async listen(options: HttpsFrontEndOptions): Promise<HttpsFrontEnd> {
    // A client certificate is asked for, not required: SAS devices send none
    // (docs/clouds/azure-iot-hub.md#x509).
    const server =
      options.tls === undefined
        ? createServer()
        : createHttpsServer({ ...options.tls, requestCert: true, rejectUnauthorized: false });
    server.listen(options.port, options.host);
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    const frontEnd = new HttpsFrontEnd(options, server, port);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      frontEnd.#handle(req, res).catch((e: unknown) => {
        options.log.debug({ err: e }, 'HTTPS request failed.');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.on('connection', (socket: Socket) => {
      frontEnd.#sockets.add(socket);
      socket.once('close', () => frontEnd.#sockets.delete(socket));
    });
    return frontEnd;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://hub');
    const match = /^\/devices\/([^/]+)\/messages\/(events|devicebound)(?:\/([^/]+))?(\/abandon)?$/i.exec(
      url.pathname,
    );
    if (match === null) {
      res.writeHead(404).end();
      return;
    }
    const deviceId = decodeURIComponent(match[1]!);
    const auth = this.#authenticate(req, deviceId);
    if (!auth.ok) {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ Message: auth.reason }));
      return;
    }
    const body = await readBody(req);
    const route = `${req.method} ${match[2]!.toLowerCase()}${match[3] === undefined ? '' : '/lock'}${match[4] ?? ''}`;
    switch (route) {
      case 'POST events':
        this.#events(deviceId, auth.method, req, body, res);
        return;
      case 'GET devicebound':
        this.#receive(deviceId, res);
        return;
      case 'DELETE devicebound/lock': {
        const lock = match[3]!;
        const ok = url.searchParams.has('reject')
          ? this.#options.c2d.reject(deviceId, lock)
          : this.#options.c2d.complete(deviceId, lock);
        res.writeHead(ok ? 204 : 412).end();
        return;
      }
      case 'POST devicebound/lock/abandon':
        res.writeHead(this.#options.c2d.abandon(deviceId, match[3]!) ? 204 : 412).end();
        return;
      default:
        res.writeHead(405).end();
    }
  }

  /** A SAS `Authorization` header, or without one the device's registered TLS client certificate. */
  #authenticate(
    req: IncomingMessage,
    deviceId: string,
  ): { ok: true; method: 'sas' | 'x509' } | { ok: false; reason: string } {
    const { registry, now } = this.#options;
    const token = req.headers.authorization;
    if (token === undefined) {
      const certificate = (req.socket as Partial<TLSSocket>).getPeerCertificate?.();
      return certificateMatchesDevice(registry, deviceId, certificate)
        ? { ok: true, method: 'x509' }
        : { ok: false, reason: 'no Authorization header and no matching client certificate' };
    }
    const check = checkSasToken(registry, token, deviceId, Math.floor(now() / 1000));
    return check.ok ? { ok: true, method: 'sas' } : check;
  }

  #events(
    deviceId: string,
    authMethod: 'sas' | 'x509',
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): void {
    // The hub refuses a request body past 256 KB whatever it holds: a batch carries its bodies in base64,
    // 4/3 of their bytes (docs/clouds/azure-iot-hub.md#https).
    if (body.length > MAX_BATCH_BYTES) {
      res.writeHead(413).end();
      return;
    }
    const isBatch = (req.headers['content-type'] ?? '').startsWith(BATCH_CONTENT_TYPE);
    const messages: { body: Buffer; properties: PropertyBag }[] | undefined = isBatch
      ? decodeBatchBody(body)
      : [{ body, properties: fromHttpProperties(req.headers) }];
    if (messages === undefined) {
      res.writeHead(400).end();
      return;
    }
    const sized = messages.map((m) => ({ ...m, sizeBytes: messageSizeBytes(m.body, m.properties) }));
    if (sized.reduce((sum, m) => sum + m.sizeBytes, 0) > MAX_D2C_BYTES) {
      res.writeHead(413).end();
      return;
    }
    const { admission, delayMs } = this.#options.meter.shape(sized.map((m) => m.sizeBytes));
    if (admission !== 'ok') {
      res.writeHead(admission === 'throttled' ? 429 : 403).end();
      return;
    }
    const accept = (): void => {
      const now = this.#options.now();
      for (const m of sized) this.#options.onD2c(stampD2c({ deviceId, authMethod, ...m }, now));
      res.writeHead(204).end();
    };
    // Traffic shaping: above the rate the hub answers late instead of refusing.
    if (delayMs > 0) setTimeout(accept, delayMs);
    else accept();
  }

  #receive(deviceId: string, res: ServerResponse): void {
    const message = this.#options.c2d.receive(deviceId);
    if (message === undefined) {
      res.writeHead(204).end();
      return;
    }
    res
      .writeHead(200, {
        etag: `"${message.lockToken}"`,
        'iothub-sequencenumber': String(message.sequenceNumber),
        'iothub-enqueuedtime': new Date(message.enqueuedAt).toISOString(),
        'iothub-deliverycount': String(message.deliveryCount),
        'iothub-ack': message.ack,
        ...toHttpProperties({
          '$.mid': message.messageId,
          '$.to': `/devices/${deviceId}/messages/deviceBound`,
          '$.exp': new Date(message.expiresAt).toISOString(),
          ...message.properties,
        }),
      })
      .end(message.body);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
