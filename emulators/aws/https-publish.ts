import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Aedes } from 'aedes';
import type { Logger } from '../../src/logger.js';
import { BROKER_LIMITS, publishViolation } from './broker-rules.js';
import type { KeyPair } from './certs.js';
import type { Meter } from './meter.js';
import { isAllowed } from './policy.js';
import type { Registry } from './registry.js';
import { listen } from './listen.js';

export interface HttpsPublishOptions {
  host: string;
  port: number;
  ca: KeyPair;
  server: KeyPair;
  registry: Registry;
  meter: Meter;
  /** Accepted publishes go into this broker, to the same subscribers as MQTT publishes. */
  aedes: Aedes;
  log: Logger;
}

export interface HttpsPublishServer {
  port: number;
  close(): Promise<void>;
}

/**
 * IoT Core's HTTPS publish endpoint (docs/clouds/aws-iot-core.md#https-publish-and-basic-ingest):
 * `POST /topics/{topic}?qos=0|1&retain=`
 * over mutual TLS, answered `200 {"message":"OK","traceId"}`. There is no client id, so policy variables
 * that need one never resolve. Errors use IoT Core's status codes: 400 bad request, 403 not authorized,
 * 404 unknown path, 413 payload too large.
 */
export async function startHttpsPublish(options: HttpsPublishOptions): Promise<HttpsPublishServer> {
  const log = options.log.child({ component: 'aws-emulator-https' });
  const server: Server = createServer(
    {
      key: options.server.keyPem,
      cert: options.server.certPem,
      ca: options.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['x-amzn-http-ca', 'http/1.1'],
    },
    (req, res) => {
      handle(req, res, options).catch((e: unknown) => {
        log.debug({ err: e }, 'HTTPS publish failed.');
        reply(res, 500, { message: 'Internal failure' });
      });
    },
  );
  return listen(server, options.port, options.host);
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length;
    if (bytes > limitBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpsPublishOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://emulator');
  const match = /^\/topics\/(.+)$/.exec(url.pathname);
  if (req.method !== 'POST' || match === null) {
    reply(res, 404, { message: 'Not Found' });
    return;
  }
  const fingerprint = (req.socket as TLSSocket).getPeerCertificate().fingerprint256;
  const principal = fingerprint === undefined ? undefined : options.registry.principal(fingerprint);
  const topic = decodeURIComponent(match[1]!);
  // No client id over HTTPS: `${iot:ClientId}` is empty and the ThingName variable never resolves.
  if (principal === undefined || !isAllowed(principal.policies, 'iot:Publish', topic, { clientId: '' })) {
    reply(res, 403, { message: 'Forbidden' });
    return;
  }
  const payload = await readBody(req, BROKER_LIMITS.maxPayloadBytes);
  if (payload === undefined) {
    options.meter.refused();
    reply(res, 413, { message: 'Message payload exceeds size limit for message type' });
    return;
  }
  const qos = Number(url.searchParams.get('qos') ?? '0');
  const retain = url.searchParams.get('retain') === 'true';
  const violation =
    qos === 0 || qos === 1 ? publishViolation({ topic, payload, retain }) : 'qos must be 0 or 1';
  if (violation !== undefined) {
    options.meter.refused();
    reply(res, 400, { message: violation });
    return;
  }
  await new Promise<void>((resolve, reject) =>
    options.aedes.publish({ cmd: 'publish', topic, payload, qos: qos as 0 | 1, retain, dup: false }, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  options.meter.inbound(topic, payload.length, 'https');
  reply(res, 200, { message: 'OK', traceId: randomUUID() });
}
