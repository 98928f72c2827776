import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Aedes } from 'aedes';
import type { Logger } from '../../src/logger.js';
import { BROKER_LIMITS, publishViolation } from './broker-rules.js';
import type { KeyPair } from './certs.js';
import { executionView } from './jobs-model.js';
import type { JobsService } from './jobs-service.js';
import type { Meter } from './meter.js';
import { isJsonObject, type JsonObject } from './shadow-document.js';
import type { ShadowService } from './shadow-service.js';
import { sigV4Violation, signingScope } from './sigv4.js';
import { listen } from './listen.js';

/**
 * Test credentials the emulated service APIs accept (SigV4), for a service app using the official AWS
 * SDK against the emulator. Not a secret: the emulator runs on loopback with its own CA.
 */
export const EMULATOR_SERVICE_CREDENTIALS = {
  accessKeyId: 'AKIDFIELDGATEEMULATOR',
  secretAccessKey: 'fieldgate-emulator-secret-access-key',
} as const;

/** The account and region the emulator reports in ARNs. */
export const EMULATOR_ACCOUNT = '123456789012';
export const EMULATOR_REGION = 'us-east-1';

export interface DataPlaneOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The endpoint's certificate (issued by the emulator CA); no client certificate is asked for. */
  server: KeyPair;
  shadows: ShadowService;
  jobs: JobsService;
  /** Publishes go into this broker as the service's own, to device subscribers. */
  aedes: Aedes;
  meter: Meter;
  log: Logger;
  /** Access key id → secret access key; default: {@link EMULATOR_SERVICE_CREDENTIALS}. */
  credentials?: ReadonlyMap<string, string>;
  now?: () => number;
}

export interface DataPlaneServer {
  port: number;
  close(): Promise<void>;
}

/** An AWS error: status, the `x-amzn-ErrorType` the SDKs map to an exception class, and its message. */
interface ApiError {
  status: number;
  type: string;
  message: string;
}

/** Device Shadow error codes (docs/clouds/aws-iot-core.md#device-shadow) as data-plane exceptions. */
const SHADOW_ERRORS: Record<number, string> = {
  400: 'InvalidRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'ResourceNotFoundException',
  409: 'ConflictException',
  413: 'RequestEntityTooLargeException',
  415: 'UnsupportedDocumentEncodingException',
  429: 'ThrottlingException',
  500: 'InternalFailureException',
};

/** The largest body the data plane reads: a shadow request or a publish payload. */
const MAX_BODY_BYTES = BROKER_LIMITS.maxPayloadBytes;

/**
 * The service side of the emulated IoT Core over HTTPS with SigV4, as the official SDKs call it
 * (docs/clouds/aws-iot-core.md#service-apis): the IoT data plane — UpdateThingShadow, GetThingShadow,
 * DeleteThingShadow (`/things/{thing}/shadow?name=`) and Publish (`/topics/{topic}?qos=&retain=`) — and
 * of the IoT control plane the two Jobs calls a service app needs: CreateJob (`PUT /jobs/{jobId}`, one
 * thing target) and DescribeJobExecution (`GET /things/{thing}/jobs/{jobId}`). Shadow calls follow the
 * same rules as MQTT requests and notify devices the same way; errors carry `x-amzn-ErrorType`.
 */
export async function startDataPlane(options: DataPlaneOptions): Promise<DataPlaneServer> {
  const log = options.log.child({ component: 'aws-emulator-api' });
  const credentials =
    options.credentials ??
    new Map([[EMULATOR_SERVICE_CREDENTIALS.accessKeyId, EMULATOR_SERVICE_CREDENTIALS.secretAccessKey]]);
  const now = options.now ?? Date.now;
  const server: Server = createServer(
    { key: options.server.keyPem, cert: options.server.certPem, minVersion: 'TLSv1.2' },
    (req, res) => {
      handle(req, res, { ...options, credentials, now }).catch((e: unknown) => {
        log.debug({ err: e }, 'Service API request failed.');
        fail(res, { status: 500, type: 'InternalFailureException', message: 'Internal failure' });
      });
    },
  );
  return listen(server, options.port, options.host);
}

type Context = DataPlaneOptions & { credentials: ReadonlyMap<string, string>; now: () => number };

async function handle(req: IncomingMessage, res: ServerResponse, context: Context): Promise<void> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    fail(res, { status: 413, type: 'RequestEntityTooLargeException', message: 'Payload too large' });
    return;
  }
  const rawUrl = req.url ?? '/';
  const method = req.method ?? 'GET';
  const denied = sigV4Violation(
    { method, rawUrl, headers: req.headers, body },
    context.credentials,
    context.now(),
  );
  if (denied !== undefined) {
    fail(res, { status: 403, type: 'ForbiddenException', message: denied });
    return;
  }
  const url = new URL(rawUrl, 'https://emulator');
  const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
  const service = signingScope(single(req.headers.authorization))?.service;
  const outcome =
    service === 'iot'
      ? jobsCall(method, segments, body, context)
      : dataCall(method, segments, url, body, context);
  if ('error' in outcome) {
    fail(res, outcome.error);
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() })
    .end(outcome.body);
}

type CallOutcome = { body: string | Buffer } | { error: ApiError };

function dataCall(method: string, segments: string[], url: URL, body: Buffer, context: Context): CallOutcome {
  if (segments.length === 3 && segments[0] === 'things' && segments[2] === 'shadow') {
    const thing = segments[1]!;
    const shadow = url.searchParams.get('name') ?? undefined;
    const operation =
      method === 'POST' ? 'update' : method === 'GET' ? 'get' : method === 'DELETE' ? 'delete' : undefined;
    if (operation === undefined) return methodNotAllowed();
    const outcome = context.shadows.serviceRequest(operation, thing, shadow, body);
    if ('error' in outcome) {
      const { code, message } = outcome.error;
      return { error: { status: code, type: SHADOW_ERRORS[code] ?? 'InternalFailureException', message } };
    }
    return { body: JSON.stringify(outcome.body) };
  }
  if (segments.length === 2 && segments[0] === 'topics') {
    if (method !== 'POST') return methodNotAllowed();
    const topic = segments[1]!;
    const qos = Number(url.searchParams.get('qos') ?? '0');
    const retain = url.searchParams.get('retain') === 'true';
    const violation =
      qos === 0 || qos === 1 ? publishViolation({ topic, payload: body, retain }) : 'qos must be 0 or 1';
    if (violation !== undefined)
      return { error: { status: 400, type: 'InvalidRequestException', message: violation } };
    context.meter.inbound(topic, body.length, 'https');
    context.aedes.publish(
      { cmd: 'publish', topic, payload: body, qos: qos as 0 | 1, retain, dup: false },
      () => undefined,
    );
    return { body: '' };
  }
  return { error: { status: 404, type: 'ResourceNotFoundException', message: 'Not Found' } };
}

/** Thing ARN → thing name, for CreateJob's targets. */
const THING_ARN = /^arn:aws:iot:[^:]*:\d*:thing\/([^/]+)$/;

function jobsCall(method: string, segments: string[], body: Buffer, context: Context): CallOutcome {
  if (segments.length === 2 && segments[0] === 'jobs' && method === 'PUT') {
    const jobId = segments[1]!;
    const request = parseObject(body);
    const targets = request?.targets;
    const document =
      typeof request?.document === 'string' ? parseObject(Buffer.from(request.document)) : undefined;
    if (
      !Array.isArray(targets) ||
      targets.length !== 1 ||
      typeof targets[0] !== 'string' ||
      document === undefined
    ) {
      return invalid('the emulator takes one thing ARN in targets and a JSON object as document');
    }
    const thing = THING_ARN.exec(targets[0])?.[1];
    if (thing === undefined) return invalid(`not a thing ARN: ${targets[0]}`);
    const timeout = request?.timeoutConfig;
    const stepTimeoutMinutes =
      isJsonObject(timeout) && typeof timeout.inProgressTimeoutInMinutes === 'number'
        ? timeout.inProgressTimeoutInMinutes
        : undefined;
    try {
      context.jobs.createJob(
        thing,
        jobId,
        document,
        stepTimeoutMinutes === undefined ? {} : { stepTimeoutMinutes },
      );
    } catch (e) {
      return {
        error: { status: 409, type: 'ResourceAlreadyExistsException', message: (e as Error).message },
      };
    }
    return { body: JSON.stringify({ jobArn: jobArn(jobId), jobId }) };
  }
  if (segments.length === 4 && segments[0] === 'things' && segments[2] === 'jobs' && method === 'GET') {
    const [, thing, , jobId] = segments as [string, string, string, string];
    const record = context.jobs.execution(thing, jobId);
    if (record === undefined) {
      return {
        error: {
          status: 404,
          type: 'ResourceNotFoundException',
          message: `No execution of ${jobId} on ${thing}`,
        },
      };
    }
    const view = executionView(record, false);
    const execution: JsonObject = {
      jobId: record.jobId,
      status: record.status,
      statusDetails: { detailsMap: record.statusDetails },
      thingArn: `arn:aws:iot:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:thing/${thing}`,
      queuedAt: record.queuedAt,
      ...(view.startedAt === undefined ? {} : { startedAt: view.startedAt }),
      lastUpdatedAt: record.lastUpdatedAt,
      executionNumber: record.executionNumber,
      versionNumber: record.versionNumber,
    };
    return { body: JSON.stringify({ execution }) };
  }
  return { error: { status: 404, type: 'ResourceNotFoundException', message: 'Not Found' } };
}

function jobArn(jobId: string): string {
  return `arn:aws:iot:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:job/${jobId}`;
}

function invalid(message: string): CallOutcome {
  return { error: { status: 400, type: 'InvalidRequestException', message } };
}

function methodNotAllowed(): CallOutcome {
  return { error: { status: 405, type: 'MethodNotAllowedException', message: 'Method not allowed' } };
}

function parseObject(body: Buffer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function fail(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) return;
  res
    .writeHead(error.status, { 'content-type': 'application/json', 'x-amzn-ErrorType': error.type })
    .end(JSON.stringify({ message: error.message }));
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

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
