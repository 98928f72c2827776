import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from '../../src/logger.js';
import { AmqpFrontEnd } from './amqp-frontend.js';
import { HttpsFrontEnd } from './https-frontend.js';
import { C2dQueues, type FeedbackRecord, type SendC2dInput } from './c2d-queue.js';
import type { D2cRecord } from './d2c-record.js';
import { HubMeter, type MeterCounters } from './meter.js';
import { MqttFrontEnd } from './mqtt-frontend.js';
import { ServiceFrontEnd } from './service-frontend.js';
import type { HubRegistry } from './registry.js';
import { TwinStore, type TwinState } from './twin-store.js';

/** How often expired C2D messages are dead-lettered. */
const C2D_SWEEP_MS = 1000;

export interface AzureHubOptions {
  registry: HubRegistry;
  host: string;
  /** 0 picks a free port; the hub's own is 8883. */
  port: number;
  /** PEM server certificate and key: MQTT over TLS as the hub speaks it. Without them, plain TCP (local only). */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
  /** Also speak AMQP 1.0 on this port (0 picks a free one; the hub's own is 5671); omitted: MQTT only. */
  amqpPort?: number;
  /** Also serve the HTTPS device API on this port (0 picks a free one; the hub's own is 443). */
  httpsPort?: number;
  /**
   * Also serve the service side (`azure-iothub`: C2D send and feedback, direct methods, twins) on this
   * port, AMQP and REST together (0 picks a free one); needs `tls`, as the service SDK speaks only TLS.
   */
  servicePort?: number;
  log: Logger;
  now?: () => number;
  d2cPerSecond?: number;
  /** How long the D2C shaping queue holds messages beyond the rate before 429 (default 2 s; 0: none). */
  shapingQueueMs?: number;
  dailyQuotaUnits?: number;
  /** Devices one AMQP connection may carry; past it 403005 (default the hub's 999). */
  amqpDevicesPerConnection?: number;
  /** Told of every accepted D2C message, after it is recorded (`fieldgate emulate azure` logs them). */
  onD2c?: (record: D2cRecord) => void;
}

/**
 * A local, device-side Azure IoT Hub (docs/clouds/azure-iot-hub.md#what-the-emulator-must-do): registry and
 * SAS checks, the MQTT front end, the C2D
 * engine, direct methods, throttle, daily quota and billing meter, and a record of every D2C message
 * with the properties the hub stamps, for tests and for `fieldgate emulate azure`.
 */
export class AzureHubEmulator {
  readonly registry: HubRegistry;
  readonly c2d: C2dQueues;
  readonly meter: HubMeter;
  /** Device twins, as the service side sees them. */
  readonly twins: TwinStore;
  /** Every accepted D2C message, in arrival order. */
  readonly d2c: D2cRecord[];
  readonly port: number;
  /** `mqtts://host:port` (or `mqtt://` without TLS): the `endpoint` of an azure upstream. */
  readonly url: string;
  /** `amqps://host:port` (or `amqp://` without TLS) when AMQP is on. */
  readonly amqpUrl: string | undefined;
  /** `https://host:port` (or `http://` without TLS) when HTTPS is on. */
  readonly httpsUrl: string | undefined;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  readonly #frontEnd: MqttFrontEnd;
  readonly #amqp: AmqpFrontEnd | undefined;
  readonly #https: HttpsFrontEnd | undefined;
  readonly #service: ServiceFrontEnd | undefined;
  /** `127.0.0.1:port` of the service side, as a service connection string's `HostName`, when it is on. */
  readonly serviceHost: string | undefined;
  readonly #log: Logger;
  readonly #sweeper: NodeJS.Timeout;
  #closing: Promise<void> | undefined;

  private constructor(fields: {
    options: AzureHubOptions;
    c2d: C2dQueues;
    meter: HubMeter;
    twins: TwinStore;
    server: Server;
    sockets: Set<Socket>;
    frontEnd: MqttFrontEnd;
    amqp: AmqpFrontEnd | undefined;
    https: HttpsFrontEnd | undefined;
    service: ServiceFrontEnd | undefined;
    d2c: D2cRecord[];
    port: number;
    sweeper: NodeJS.Timeout;
  }) {
    this.#sweeper = fields.sweeper;
    this.d2c = fields.d2c;
    this.registry = fields.options.registry;
    this.c2d = fields.c2d;
    this.meter = fields.meter;
    this.twins = fields.twins;
    this.#server = fields.server;
    this.#sockets = fields.sockets;
    this.#frontEnd = fields.frontEnd;
    this.#amqp = fields.amqp;
    this.#https = fields.https;
    this.#service = fields.service;
    this.serviceHost =
      fields.service === undefined ? undefined : `${fields.options.host}:${fields.service.port}`;
    this.#log = fields.options.log;
    this.port = fields.port;
    const secure = fields.options.tls === undefined ? '' : 's';
    this.url = `mqtt${secure}://${fields.options.host}:${fields.port}`;
    this.amqpUrl =
      fields.amqp === undefined ? undefined : `amqp${secure}://${fields.options.host}:${fields.amqp.port}`;
    this.httpsUrl =
      fields.https === undefined ? undefined : `http${secure}://${fields.options.host}:${fields.https.port}`;
  }

  static async start(options: AzureHubOptions): Promise<AzureHubEmulator> {
    const log = options.log.child({ component: 'azure-emulator' });
    const now = options.now ?? Date.now;
    const meter = new HubMeter({
      now,
      ...(options.d2cPerSecond === undefined ? {} : { d2cPerSecond: options.d2cPerSecond }),
      ...(options.dailyQuotaUnits === undefined ? {} : { dailyQuotaUnits: options.dailyQuotaUnits }),
      ...(options.shapingQueueMs === undefined ? {} : { shapingQueueMs: options.shapingQueueMs }),
    });
    // The hub bills each delivery of a C2D message to the device, in 4 KB chunks of its body.
    const c2d = new C2dQueues({ now, onDeliver: (m) => meter.countOperation('c2d', m.body.length) });
    const d2c: D2cRecord[] = [];
    const twins = new TwinStore({ onOperation: ({ kind, bytes }) => meter.countOperation(kind, bytes) });
    const engine = {
      registry: options.registry,
      c2d,
      meter,
      twins,
      log,
      now,
      onD2c: (r: D2cRecord) => {
        d2c.push(r);
        options.onD2c?.(r);
      },
    };
    const frontEnd = await MqttFrontEnd.create(engine);
    const amqp =
      options.amqpPort === undefined
        ? undefined
        : await AmqpFrontEnd.listen({
            ...engine,
            host: options.host,
            port: options.amqpPort,
            ...(options.amqpDevicesPerConnection === undefined
              ? {}
              : { maxDevicesPerConnection: options.amqpDevicesPerConnection }),
            ...(options.tls === undefined ? {} : { tls: options.tls }),
          });
    const https =
      options.httpsPort === undefined
        ? undefined
        : await HttpsFrontEnd.listen({
            ...engine,
            host: options.host,
            port: options.httpsPort,
            ...(options.tls === undefined ? {} : { tls: options.tls }),
          });
    if (options.servicePort !== undefined && options.tls === undefined) {
      throw new Error('the service side needs tls: the service SDK speaks only TLS');
    }
    // The service side calls back into the hub, which exists only once everything listens.
    const late: { hub?: AzureHubEmulator } = {};
    const service =
      options.servicePort === undefined || options.tls === undefined
        ? undefined
        : await ServiceFrontEnd.listen(
            {
              registry: options.registry,
              twins,
              log,
              now,
              host: options.host,
              port: options.servicePort,
              tls: options.tls,
              sendC2d: (deviceId, input) => {
                late.hub?.sendC2d(deviceId, input);
              },
              invokeMethod: (...args) => late.hub!.invokeMethod(...args),
            },
            (port) => [options.registry.hostName, `${options.host}:${port}`, `localhost:${port}`],
          );
    if (service !== undefined) c2d.onFeedback((record) => service.amqp.pushFeedback(record));
    const sockets = new Set<Socket>();
    const handle = (socket: Socket): void => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      frontEnd.broker.handle(socket);
    };
    const server =
      options.tls === undefined
        ? createServer(handle)
        : createTlsServer({ ...options.tls, requestCert: true, rejectUnauthorized: false }, handle);
    twins.onDesired((deviceId, patch) => {
      frontEnd.pushDesired(deviceId, patch);
      amqp?.deviceLinks.pushDesired(deviceId, patch);
    });
    server.listen(options.port, options.host);
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    // The hub expires C2D messages on its own clock: `Expired` feedback comes on time, not only when the
    // device's queue is next touched.
    const sweeper = setInterval(() => c2d.sweep(), C2D_SWEEP_MS);
    sweeper.unref();
    const hub = new AzureHubEmulator({
      sweeper,
      options: { ...options, log },
      c2d,
      meter,
      twins,
      server,
      sockets,
      frontEnd,
      amqp,
      https,
      service,
      d2c,
      port,
    });
    late.hub = hub;
    log.info(
      {
        url: hub.url,
        amqpUrl: hub.amqpUrl,
        httpsUrl: hub.httpsUrl,
        serviceHost: hub.serviceHost,
        hostName: options.registry.hostName,
      },
      'Azure IoT Hub emulator listening.',
    );
    return hub;
  }

  /** Queue a C2D message for a device (403004 error past 50) and deliver it if the device is listening. */
  sendC2d(deviceId: string, input: SendC2dInput): string {
    const message = this.c2d.enqueue(deviceId, input);
    this.#frontEnd.pumpC2d(deviceId);
    this.#amqp?.pumpC2d(deviceId);
    return message.messageId;
  }

  /**
   * Invoke a direct method as the service does. Rejects with an Error carrying `status`: 400 for a timeout
   * outside 5–300 s or a payload over 128 KB (the hub's bounds), 404 when the device is not listening, 504
   * when it does not answer in time. A call that reached the device is metered (request and response).
   */
  invokeMethod(
    deviceId: string,
    method: string,
    payload: unknown,
    timeoutMs = 30_000,
  ): Promise<{ status: number; payload: unknown }> {
    const body = Buffer.from(JSON.stringify(payload ?? null));
    if (!(timeoutMs >= MIN_METHOD_TIMEOUT_MS && timeoutMs <= MAX_METHOD_TIMEOUT_MS)) {
      return Promise.reject(methodError(400, `the method timeout ${timeoutMs} ms is outside 5–300 s`));
    }
    if (body.length > MAX_METHOD_PAYLOAD_BYTES) {
      return Promise.reject(methodError(400, `the method payload of ${body.length} bytes exceeds 128 KB`));
    }
    // A device listens for methods on one protocol; AMQP when it has a methods link attached there.
    const reply =
      this.#amqp?.deviceLinks.hasMethods(deviceId) === true
        ? this.#amqp.deviceLinks.invokeMethod(deviceId, method, body, timeoutMs)
        : this.#frontEnd.invokeMethod(deviceId, method, body, timeoutMs);
    return reply.then(
      (r) => {
        this.meter.countOperation('method', body.length, r.payload.length);
        return { status: r.status, payload: parseJson(r.payload) };
      },
      (e: unknown) => {
        // A request that reached the device but got no answer is still billed for the request.
        if ((e as { status?: unknown }).status === 504) this.meter.countOperation('method', body.length);
        throw e;
      },
    );
  }

  /** Service side: patch the device's desired properties (pushed to subscribed devices); the new `$version`. */
  updateDesired(deviceId: string, patch: Record<string, unknown>): number {
    return this.twins.updateDesired(deviceId, patch);
  }

  /** Service side: the device's twin as the hub holds it. */
  twin(deviceId: string): TwinState {
    return this.twins.get(deviceId);
  }

  /**
   * A service connection string for `azure-iothub` with the policy's key, `HostName` the service side's
   * `host:port` (undefined without a service side or without that policy).
   */
  serviceConnectionString(policyName: string): string | undefined {
    const policy = this.registry.policy(policyName);
    if (this.serviceHost === undefined || policy === undefined) return undefined;
    return `HostName=${this.serviceHost};SharedAccessKeyName=${policyName};SharedAccessKey=${policy.key}`;
  }

  feedback(): FeedbackRecord[] {
    return this.c2d.feedback();
  }

  counters(): MeterCounters {
    return this.meter.counters();
  }

  isConnected(deviceId: string): boolean {
    return this.#frontEnd.isConnected(deviceId) || this.#amqp?.isConnected(deviceId) === true;
  }

  /** Drop every device connection; devices may reconnect at once. */
  disconnectAll(): void {
    this.#frontEnd.disconnectAll();
    this.#amqp?.disconnectAll();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweeper);
      const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const socket of this.#sockets) socket.destroy();
      await new Promise<void>((resolve) => this.#frontEnd.broker.close(() => resolve()));
      await serverClosed;
      await this.#amqp?.close();
      await this.#https?.close();
      await this.#service?.close();
      this.#log.info({ url: this.url }, 'Azure IoT Hub emulator closed.');
    })();
    return this.#closing;
  }
}

/** The hub's bounds on a direct method (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing). */
const MIN_METHOD_TIMEOUT_MS = 5_000;
const MAX_METHOD_TIMEOUT_MS = 300_000;
const MAX_METHOD_PAYLOAD_BYTES = 128 * 1024;

function methodError(status: number, message: string): Error & { status: number } {
  return Object.assign(new Error(message), { status });
}

function parseJson(payload: Buffer): unknown {
  if (payload.length === 0) return null;
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return payload.toString('utf8');
  }
}
