import type { MqttClient } from 'mqtt';
import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import { FieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { publishAcked } from '../common/exchange-guard.js';
import { describeDisconnectReason, isTakeover } from './disconnect-reason.js';
import { HttpsPublisher } from './https-publisher.js';
import type { PublishSizeGuard } from '../inbound/publish-size-guard.js';
import { openMqttConnection, type ConnectionEnd, type OpenConnection } from './mqtt-connection.js';
import { loadTlsMaterial } from './tls-material.js';
import type { UsageMeter } from './usage-meter.js';

/**
 * IoT Core accepts at most one CONNECT per second per client id
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
 */
const MIN_CONNECT_INTERVAL_MS = 1000;
/**
 * MQTT 5 persistent sessions: IoT Core keeps a session at most an hour after a disconnect
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
 */
const SESSION_EXPIRY_S = 3600;

export interface AwsSessionOptions {
  config: AwsUpstreamConfig;
  /** The MQTT client id: the gateway thing name. */
  clientId: string;
  log: Logger;
  readFile: ((path: string) => Promise<Buffer>) | undefined;
  now: () => number;
  /** Subscribes what a new MQTT connection needs; a throw fails the connect (the connection is closed). */
  subscribe: (client: MqttClient, signal: AbortSignal) => Promise<void>;
  /** Inbound size guard of every MQTT connection (see `OpenOptions.guard`). */
  guard?: PublishSizeGuard;
  /** Counts every packet of every MQTT connection, and each connect, as IoT Core bills them. */
  usage?: UsageMeter;
  /** Every message the connection receives. */
  onMessage: (topic: string, payload: Buffer) => void;
  /** An MQTT connection is up and subscribed. */
  onUp: (client: MqttClient) => void;
  /** The MQTT connection went, for any reason (called at most once per connection). */
  onDown: () => void;
}

/**
 * The lifecycle of the connection to IoT Core: one MQTT connection (or an HTTPS publisher) at a time,
 * CONNECTs spaced a second apart, and takeover detection. It never reconnects on its own: the forwarder
 * owns reconnects and their backoff. After a takeover `isKicked` stays true until a send succeeds again,
 * so two clients sharing the thing name back off instead of taking the connection from each other in a
 * loop. On MQTT 5 a DISCONNECT says why: 0x8E is a takeover, other reasons are logged and end the
 * connection like a network drop. Without a reason (MQTT 3.1.1) any close of a healthy connection by the
 * service counts as a takeover (see `isTakeover`).
 */
export class AwsSession {
  readonly #options: AwsSessionOptions;
  readonly #log: Logger;
  #connection: OpenConnection | undefined;
  #https: HttpsPublisher | undefined;
  #lastConnectAt = -Infinity;
  #isKicked = false;
  #takeovers = 0;

  constructor(options: AwsSessionOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  /** The live MQTT client, if any. */
  get client(): MqttClient | undefined {
    const client = this.#connection?.client;
    return client?.connected === true ? client : undefined;
  }

  /** The HTTPS publisher when `transport: https` and connected. */
  get https(): HttpsPublisher | undefined {
    return this.#https;
  }

  get isConnected(): boolean {
    return this.#https !== undefined || this.client !== undefined;
  }

  /** The service closed our last healthy connection and no send has succeeded since. */
  get isKicked(): boolean {
    return this.#isKicked;
  }

  /** Connections the service closed on us. */
  get takeovers(): number {
    return this.#takeovers;
  }

  /** A send got through: whatever closed the last connection is over. */
  delivered(): void {
    this.#isKicked = false;
  }

  async connect(signal: AbortSignal): Promise<void> {
    const config = this.#options.config;
    await this.drop();
    const waitMs = this.#lastConnectAt + MIN_CONNECT_INTERVAL_MS - this.#options.now();
    if (waitMs > 0) await abortableDelay(waitMs, signal);
    const tls = await loadTlsMaterial(config, this.#options.readFile);
    if (config.transport === 'https') {
      this.#https = new HttpsPublisher({
        host: config.endpoint,
        port: config.httpsPort,
        tls,
        timeoutMs: config.ackTimeoutMs,
      });
      return;
    }
    let connection: OpenConnection;
    const isMqtt5 = config.mqttVersion === '5';
    try {
      connection = await openMqttConnection({
        host: config.endpoint,
        port: config.port,
        tls,
        clientId: this.#options.clientId,
        protocolVersion: isMqtt5 ? 5 : 4,
        // MQTT 5 splits 3.1.1's clean session in two: clean start, and how long the session outlives us.
        clean: !config.persistentSession,
        ...(isMqtt5 ? { sessionExpiryS: config.persistentSession ? SESSION_EXPIRY_S : 0 } : {}),
        keepaliveS: config.keepaliveS,
        signal,
        ...(this.#options.guard === undefined ? {} : { guard: this.#options.guard }),
      });
    } finally {
      // Measured from the end of the attempt: by then the service has seen our CONNECT, if it ever will.
      this.#lastConnectAt = this.#options.now();
    }
    const { client } = connection;
    const { usage } = this.#options;
    if (usage !== undefined) {
      usage.connected();
      client.on('packetsend', (packet) => usage.sent(packet));
      client.on('packetreceive', (packet) => usage.received(packet));
    }
    client.on('message', (topic, payload) => this.#options.onMessage(topic, payload));
    try {
      await this.#options.subscribe(client, signal);
    } catch (e) {
      await connection.close(true);
      throw e;
    }
    this.#connection = connection;
    void connection.ended.then((end) => this.#onEnded(connection, end));
    this.#log.debug(
      { clientId: this.#options.clientId, sessionPresent: connection.isSessionPresent },
      'Connected to AWS IoT Core.',
    );
    this.#options.onUp(client);
  }

  /** One QoS 1 publish; false if it was not acknowledged within `ackTimeoutMs` or the connection went. */
  publishOnce(topic: string, payload: Buffer): Promise<boolean> {
    return publishAcked(this.client, { topic, payload }, this.#options.config.ackTimeoutMs);
  }

  /** Close whatever is open, from our side. */
  async drop(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#https?.close();
    this.#https = undefined;
    if (connection === undefined) return;
    this.#options.onDown();
    // A polite DISCONNECT only when nothing is in flight: otherwise mqtt.js waits for PUBACKs that may
    // never come. The forwarder has settled every send before it closes us.
    const { client } = connection;
    const isIdle = client.connected && Object.keys(client.outgoing).length === 0;
    await connection.close(!isIdle);
  }

  #onEnded(connection: OpenConnection, end: ConnectionEnd): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    this.#options.onDown();
    const { disconnect } = end;
    const reason =
      disconnect === undefined ? {} : { reason: describeDisconnectReason(disconnect.reasonCode) };
    const context = { clientId: this.#options.clientId, ...reason, reasonString: disconnect?.reasonString };
    if (!isTakeover(end)) {
      if (disconnect !== undefined) this.#log.warn(context, 'IoT Core disconnected us.');
      return;
    }
    this.#takeovers += 1;
    if (!this.#isKicked) {
      this.#log.warn(
        context,
        disconnect === undefined
          ? 'IoT Core closed our connection: another client with this thing name may have connected. Backing off.'
          : 'IoT Core handed our session to another client with this thing name. Backing off.',
      );
    }
    this.#isKicked = true;
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
    if (signal.aborted) onAbort();
  });
}
