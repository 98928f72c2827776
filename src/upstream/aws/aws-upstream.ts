import { ErrorWithSubackPacket, type MqttClient } from 'mqtt';
import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import { FieldgateError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, DeviceInfo, Envelope } from '../../model.js';
import { formatResultPayload } from '../mqtt/commands.js';
import { RateLimiter } from '../rate-limiter.js';
import type { CommandHandler, IncomingCommand, SendResult, Upstream, UpstreamLimits } from '../upstream.js';
import { AWS_BILLING_UNIT_BYTES } from './billing.js';
import { parseCommandRequest } from './commands.js';
import { planTelemetry, type TelemetryMessage } from './encode.js';
import { ExchangeGuard } from '../exchange-guard.js';
import { HttpsPublisher } from './https-publisher.js';
import { JobsRunner } from './jobs-runner.js';
import { subscribeOrWarn } from './subscribe.js';
import { ShadowSync } from './shadow-sync.js';
import { publishOverHttps, publishOverMqtt } from './telemetry-publish.js';
import { openMqttConnection, type ConnectionEnd, type OpenConnection } from './mqtt-connection.js';
import { loadTlsMaterial } from './tls-material.js';
import { TopicTemplate } from './topics.js';

export interface AwsUpstreamOptions {
  config: AwsUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  /** Reads the TLS files named in config; injectable for tests. */
  readFile?: (path: string) => Promise<Buffer>;
  /** Command requests larger than this are answered `rejected` unparsed; default 16 KiB. */
  maxCommandBytes?: number;
  now?: () => number;
}

/** Counters for status and cost checks. */
export interface AwsUpstreamStats {
  /** Telemetry messages IoT Core acknowledged. */
  messages: number;
  /** Their cost in 5 KB metering units (B6); Basic Ingest is free. */
  billedUnits: number;
  /** Connections the service closed on us, most likely another client taking over our client id. */
  takeovers: number;
}

/** IoT Core accepts at most one CONNECT per second per client id (B2). */
const MIN_CONNECT_INTERVAL_MS = 1000;
/** SUBACK return code of a refused subscription (MQTT 3.1.1 §3.9.3). */
const SUBACK_FAILURE = 0x80;
/** Responses kept while disconnected; beyond this the oldest is dropped (and logged). */
const OUTBOX_LIMIT = 100;

/**
 * The AWS IoT Core connector (DESIGN.md §6, cloud-protocols.md part B). Telemetry goes to one topic per
 * device (`dt/fieldgate/{gateway}/{device}`), QoS 1, payloads ≤ 128 KiB packed to fill 5 KB billing units,
 * paced to ≤ 100 publishes/s; over MQTT with mutual TLS, or HTTPS publish. Commands arrive on
 * `cmd/fieldgate/{gateway}/{device}/req` and each gets one response on `…/res`.
 *
 * The client id is the gateway thing name. It never reconnects on its own: the forwarder owns reconnects
 * and their backoff, and this class only spaces CONNECTs a second apart. When the service closes a healthy
 * connection, the next `send` answers `retry` with `kicked: true`, so two clients sharing the thing name
 * back off instead of taking the connection from each other in a loop.
 */
export class AwsUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AwsUpstreamConfig;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #thingName: string;
  readonly #log: Logger;
  readonly #readFile: ((path: string) => Promise<Buffer>) | undefined;
  readonly #maxCommandBytes: number;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #telemetry: TopicTemplate;
  readonly #request: TopicTemplate;
  readonly #response: TopicTemplate;
  readonly #stats: AwsUpstreamStats = { messages: 0, billedUnits: 0, takeovers: 0 };
  #connection: OpenConnection | undefined;
  #https: HttpsPublisher | undefined;
  #handler: CommandHandler | undefined;
  /** Undefined when shadows are off or telemetry goes over HTTPS (no subscriptions there). */
  readonly #shadows: ShadowSync | undefined;
  /** Undefined unless `jobs.enabled` and telemetry goes over MQTT. */
  readonly #jobs: JobsRunner | undefined;
  #outbox: { topic: string; payload: Buffer }[] = [];
  #lastConnectAt = -Infinity;
  #isKicked = false;
  #isClosed = false;
  /** Aborted on close, so shadow requests waiting for the rate limiter give up. */
  readonly #pacingSignal = new AbortController();

  constructor(options: AwsUpstreamOptions) {
    const { config } = options;
    this.#config = config;
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#thingName = config.thingName ?? options.gatewayId;
    this.#log = options.log.child({ component: 'aws-upstream', route: options.route });
    this.#readFile = options.readFile;
    this.#maxCommandBytes = options.maxCommandBytes ?? 16 * 1024;
    this.#now = options.now ?? Date.now;
    // A token bucket lets `burst + perSecond` through in any one second; split the limit between them so
    // no second ever exceeds it (IoT Core discards publishes beyond 100/s).
    const burst = Math.max(1, Math.floor(config.maxMessagesPerSecond / 10));
    this.#limiter = new RateLimiter({ perSecond: config.maxMessagesPerSecond - burst, burst });
    const known = ['gateway', 'route', 'device'];
    this.#telemetry = new TopicTemplate(config.topics.telemetry, known);
    this.#request = new TopicTemplate(config.topics.commandRequest, known);
    this.#response = new TopicTemplate(config.topics.commandResponse, known);
    if (!this.#request.hasDevice) {
      throw new FieldgateError('FG_CONFIG_INVALID', 'topics.commandRequest must contain {device}.', {
        context: { template: config.topics.commandRequest },
      });
    }
    this.#request.filter(this.#vars(), ['device']);
    this.#shadows =
      config.shadows.mode === 'off' || config.transport === 'https'
        ? undefined
        : new ShadowSync({
            config: config.shadows,
            gatewayThing: this.#thingName,
            route: options.route,
            log: this.#log,
            now: this.#now,
            publish: (topic, body) => this.#publishShadowRequest(topic, body),
            pace: () => this.#limiter.take(this.#pacingSignal.signal),
            submit: (incoming) => this.#dispatch(incoming),
          });
    this.#jobs =
      config.jobs.enabled && config.transport === 'mqtt'
        ? new JobsRunner({
            thingName: this.#thingName,
            route: options.route,
            log: this.#log,
            now: this.#now,
            publish: (topic, body) => this.#publishShadowRequest(topic, body),
            submit: (incoming) => this.#dispatch(incoming),
            answerTimeoutMs: config.ackTimeoutMs,
          })
        : undefined;
    this.limits = {
      maxMessageBytes: config.maxMessageBytes,
      maxMessagesPerSecond: config.maxMessagesPerSecond,
      billingUnitBytes: AWS_BILLING_UNIT_BYTES,
    };
  }

  get isConnected(): boolean {
    return this.#https !== undefined || this.#connection?.client.connected === true;
  }

  stats(): AwsUpstreamStats {
    return { ...this.#stats };
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  /** Availability goes into the device's shadow `reported` (nothing when shadows are off). */
  onDeviceState(info: Pick<DeviceInfo, 'id' | 'availability'>): void {
    this.#shadows?.deviceState(info);
  }

  async connect(signal: AbortSignal): Promise<void> {
    if (this.#isClosed) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'The upstream is closed.');
    await this.#drop();
    const waitMs = this.#lastConnectAt + MIN_CONNECT_INTERVAL_MS - this.#now();
    if (waitMs > 0) await abortableDelay(waitMs, signal);
    const tls = await loadTlsMaterial(this.#config, this.#readFile);
    if (this.#config.transport === 'https') {
      this.#https = new HttpsPublisher({
        host: this.#config.endpoint,
        port: this.#config.httpsPort,
        tls,
        timeoutMs: this.#config.ackTimeoutMs,
      });
      return;
    }
    let connection: OpenConnection;
    try {
      connection = await openMqttConnection({
        host: this.#config.endpoint,
        port: this.#config.port,
        tls,
        clientId: this.#thingName,
        clean: !this.#config.persistentSession,
        keepaliveS: this.#config.keepaliveS,
        signal,
      });
    } finally {
      // Measured from the end of the attempt: by then the service has seen our CONNECT, if it ever will.
      this.#lastConnectAt = this.#now();
    }
    const { client } = connection;
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    try {
      await this.#subscribe(client, signal);
      if (this.#shadows !== undefined) await this.#subscribeShadows(client, signal);
      if (this.#jobs !== undefined) {
        const { ackTimeoutMs } = this.#config;
        const jobsSubscription = { what: 'jobs', signal, ackTimeoutMs, log: this.#log };
        await subscribeOrWarn(client, this.#jobs.filters(), jobsSubscription);
      }
    } catch (e) {
      await connection.close(true);
      throw e;
    }
    this.#connection = connection;
    void connection.ended.then((end) => this.#onEnded(connection, end));
    this.#log.debug(
      { clientId: this.#thingName, sessionPresent: connection.isSessionPresent },
      'Connected to AWS IoT Core.',
    );
    void this.#flushOutbox(client);
    this.#shadows?.connected();
    this.#jobs?.connected();
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    // Shadow state follows every reading handed to us; a retried batch merges to the same values.
    this.#shadows?.observe(batch);
    const { messages, refused } = planTelemetry(batch, {
      gatewayId: this.#gatewayId,
      route: this.#route,
      telemetry: this.#telemetry,
      maxMessageBytes: this.limits.maxMessageBytes,
    });
    const https = this.#https;
    const client = this.#connection?.client;
    if (https === undefined && client?.connected !== true) {
      return this.#isKicked
        ? { kind: 'retry', reason: 'IoT Core closed the connection (client id taken over?)', kicked: true }
        : { kind: 'retry', reason: 'offline' };
    }
    const pacing = {
      limiter: this.#limiter,
      signal,
      onDelivered: (m: TelemetryMessage) => this.#delivered(m),
    };
    const { acked, failure, retryAfterMs } =
      https === undefined
        ? await publishOverMqtt(client!, messages, { ...pacing, ackTimeoutMs: this.#config.ackTimeoutMs })
        : await publishOverHttps(https, messages, pacing, refused);
    if (failure === 'timeout') {
      // A broker that stops acknowledging on a live socket is as good as gone: start afresh.
      this.#log.debug({ ackTimeoutMs: this.#config.ackTimeoutMs }, 'No PUBACK in time; reconnecting.');
      await this.#drop();
    }
    if (acked.length > 0 && failure === undefined) this.#isKicked = false;
    if (failure !== undefined) {
      if (acked.length === 0 && refused.length === 0) {
        return { kind: 'retry', reason: failure, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      return { kind: 'partial', acked, rejected: refused };
    }
    if (refused.length === 0) return { kind: 'ok' };
    if (acked.length === 0) return { kind: 'reject', reason: refused[0]!.reason };
    return { kind: 'partial', acked, rejected: refused };
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    // A command that came from a shadow's desired state answers in that shadow's reported state.
    if (this.#shadows?.reflect(command.id, result) === true) return;
    // A command that came from an IoT Job answers as that job execution's status.
    if ((await this.#jobs?.report(command.id, result)) === true) return;
    const topic = this.#response.expand(this.#vars(command.device ?? this.#thingName));
    const payload = formatResultPayload(command, result, this.#now());
    const client = this.#connection?.client;
    if (client?.connected === true && (await this.#publishOnce(client, topic, payload))) return;
    if (this.#config.transport === 'https') {
      this.#log.warn({ id: command.id }, 'HTTPS transport has no command channel; the response is dropped.');
      return;
    }
    this.#outbox.push({ topic, payload });
    if (this.#outbox.length > OUTBOX_LIMIT) {
      this.#outbox.shift();
      this.#log.warn({ limit: OUTBOX_LIMIT }, 'Response outbox full while offline; dropped the oldest.');
    }
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    this.#shadows?.close();
    this.#jobs?.close();
    this.#pacingSignal.abort();
    await this.#drop();
  }

  #vars(device?: string): Record<string, string> {
    return { gateway: this.#thingName, route: this.#route, ...(device === undefined ? {} : { device }) };
  }

  async #subscribe(client: MqttClient, signal: AbortSignal): Promise<void> {
    const filter = this.#request.filter(this.#vars(), ['device']);
    const guard = new ExchangeGuard(client, signal, this.#config.ackTimeoutMs);
    try {
      // mqtt.js rejects when a SUBACK carries 0x80 (refused), with the SUBACK attached.
      const subscribed = client.subscribeAsync(filter, { qos: 1 }).then(
        () => undefined,
        (e: unknown) =>
          e instanceof ErrorWithSubackPacket && e.packet.granted.some((g) => g === SUBACK_FAILURE)
            ? 'refused'
            : `subscribe failed: ${errorMessage(e)}`,
      );
      const outcome = await Promise.race([subscribed, guard.reason]);
      if (outcome === 'refused') {
        // Telemetry still flows; only commands are lost, so this is a warning, not a failed connect.
        this.#log.warn({ topic: filter }, 'IoT Core refused the command subscription; check the policy.');
      } else if (outcome !== undefined) {
        throw new FieldgateError('FG_UPSTREAM_OFFLINE', `Subscribing to commands failed: ${outcome}.`, {
          context: { reason: outcome },
        });
      }
    } finally {
      guard.dispose();
    }
  }

  #delivered(message: TelemetryMessage): void {
    this.#stats.messages += 1;
    this.#stats.billedUnits += message.billedUnits;
  }

  /** One QoS 1 publish; false if it was not acknowledged within `ackTimeoutMs` or the connection went. */
  async #publishOnce(client: MqttClient, topic: string, payload: Buffer): Promise<boolean> {
    const guard = new ExchangeGuard(client, new AbortController().signal, this.#config.ackTimeoutMs);
    try {
      const published = client.publishAsync(topic, payload, { qos: 1 }).then(
        () => undefined,
        () => 'publish failed',
      );
      return (await Promise.race([published, guard.reason])) === undefined;
    } finally {
      guard.dispose();
    }
  }

  async #flushOutbox(client: MqttClient): Promise<void> {
    while (this.#outbox.length > 0 && client.connected) {
      const entry = this.#outbox[0]!;
      if (!(await this.#publishOnce(client, entry.topic, entry.payload))) return;
      // Only now: a response that failed to publish stays first in line for the next connection.
      if (this.#outbox[0] === entry) this.#outbox.shift();
    }
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (this.#shadows?.handleMessage(topic, payload) === true) return;
    if (this.#jobs?.handleMessage(topic, payload) === true) return;
    const device = this.#request.extract(topic, this.#vars(), 'device');
    if (device === undefined) {
      this.#log.debug({ topic }, 'Message on an unexpected topic; ignored.');
      return;
    }
    const incoming = parseCommandRequest(payload, {
      device,
      maxBytes: this.#maxCommandBytes,
      now: this.#now(),
      route: this.#route,
    });
    this.#dispatch(incoming);
  }

  #dispatch(incoming: IncomingCommand): void {
    const id = incoming.kind === 'command' ? incoming.command.id : incoming.id;
    if (this.#handler === undefined) {
      this.#log.warn({ id }, 'Command received before a handler was registered; ignored.');
      return;
    }
    try {
      this.#handler(incoming);
    } catch (e) {
      this.#log.error({ err: e, id }, 'The command handler threw; the command got no response.');
    }
  }

  /** A shadow request (already paced with telemetry: IoT Core's 100 publishes/s counts both). */
  async #publishShadowRequest(topic: string, body: object): Promise<boolean> {
    const client = this.#connection?.client;
    if (client?.connected !== true) return false;
    return this.#publishOnce(client, topic, Buffer.from(JSON.stringify(body)));
  }

  async #subscribeShadows(client: MqttClient, signal: AbortSignal): Promise<void> {
    const filters = this.#shadows!.topics.filters();
    const guard = new ExchangeGuard(client, signal, this.#config.ackTimeoutMs);
    try {
      const subscribed = client.subscribeAsync(filters, { qos: 1 }).then(
        () => undefined,
        (e: unknown) =>
          e instanceof ErrorWithSubackPacket ? 'refused' : `subscribe failed: ${errorMessage(e)}`,
      );
      const outcome = await Promise.race([subscribed, guard.reason]);
      if (outcome === 'refused') {
        this.#log.warn({ filters }, 'IoT Core refused a shadow subscription; check the policy.');
      } else if (outcome !== undefined) {
        throw new FieldgateError('FG_UPSTREAM_OFFLINE', `Subscribing to shadows failed: ${outcome}.`, {
          context: { reason: outcome },
        });
      }
    } finally {
      guard.dispose();
    }
  }

  #onEnded(connection: OpenConnection, end: ConnectionEnd): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    this.#shadows?.disconnected();
    this.#jobs?.disconnected();
    if (this.#isClosed || !end.isPeerClose) return;
    this.#stats.takeovers += 1;
    if (!this.#isKicked) {
      this.#log.warn(
        { clientId: this.#thingName },
        'IoT Core closed our connection: another client with this thing name may have connected. Backing off.',
      );
    }
    this.#isKicked = true;
  }

  async #drop(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#shadows?.disconnected();
    this.#jobs?.disconnected();
    this.#https?.close();
    this.#https = undefined;
    if (connection === undefined) return;
    // A polite DISCONNECT only when nothing is in flight: otherwise mqtt.js waits for PUBACKs that may
    // never come. The forwarder has settled every send before it closes us.
    const { client } = connection;
    const isIdle = client.connected && Object.keys(client.outgoing).length === 0;
    await connection.close(!isIdle);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(
        new FieldgateError('FG_UPSTREAM_OFFLINE', 'Connecting was aborted.', {
          context: { reason: 'aborted' },
        }),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
