import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { formatPropertyBag, parsePropertyBag } from '../../src/upstream/azure/protocol/property-bag.js';
import { c2dFilter, METHODS_FILTER } from '../../src/upstream/azure/protocol/topics.js';
import type { C2dMessage } from './c2d-queue.js';
import { messageSizeBytes, stampD2c } from './d2c-record.js';
import type { HubServices } from './front-end-options.js';
import { checkSasToken } from './sas-check.js';
import { certificateMatchesDevice } from './x509-check.js';
import {
  answerTwinRequest,
  desiredPatchMessage,
  TWIN_DESIRED_FILTER,
  TWIN_RESPONSE_FILTER,
  type MqttReply,
} from './mqtt-twin.js';
import type { DesiredPatch, TwinStore } from './twin-store.js';

export interface MqttFrontEndOptions extends HubServices {
  /** Device twins; without them twin requests go unanswered. */
  twins?: TwinStore;
}

/** What the connection proved at CONNECT. */
interface Session {
  deviceId: string;
  authMethod: 'sas' | 'x509';
  expiryTimer?: NodeJS.Timeout;
  subscriptions: Set<string>;
}

const MAX_D2C_BYTES = 256 * 1024;
const MAX_SUBSCRIPTIONS = 5;
const NOT_AUTHORIZED = 5;
/** How long an unmatched PUBACK may wait for the write callback that names its packet id. */
const EARLY_ACK_MS = 10_000;
/** Unmatched PUBACKs kept per connection; a client sending more than this is only misbehaving. */
const MAX_EARLY_ACKS = 64;
const TWIN_FILTERS = ['$iothub/twin/res/#', '$iothub/twin/PATCH/properties/desired/#'];

/**
 * IoT Hub's MQTT front end over aedes (docs/clouds/azure-iot-hub.md#mqtt-broker-behaviour). Unlike a generic
 * broker it: authenticates
 * every CONNECT with a SAS token or client certificate (CONNACK 5 otherwise); closes the connection when
 * the token expires; lets a device publish only to its own events topic and the method/twin response
 * topics, and subscribe only to its C2D, method and twin filters, at most five, anything else closing the
 * connection; closes on QoS 2 publish and grants QoS 1 for QoS 2 subscribes; meters, throttles and size
 * checks D2C before the PUBACK (the hub closes the connection on these); and feeds C2D from the engine,
 * completing a message on its PUBACK. aedes itself gives persistent sessions and kicks the older of two
 * connections with one client id.
 */
export class MqttFrontEnd {
  readonly #options: MqttFrontEndOptions;
  readonly #sessions = new WeakMap<Client, Session>();
  readonly #clients = new Map<string, Client>();
  /** Devices whose persistent session holds the C2D subscription. */
  readonly #c2dSubscribed = new Set<string>();
  /** `deviceId/messageId` → lock token of a C2D message handed to the session. */
  readonly #inFlight = new Map<string, string>();
  /**
   * Per clean-session connection, MQTT packet id → C2D topic of each unacknowledged C2D message: aedes
   * keeps no outgoing store for a clean session, so its PUBACK would otherwise name no message.
   */
  readonly #cleanInFlight = new WeakMap<Client, Map<number, string>>();
  /** Per clean-session connection, PUBACKs that matched nothing yet: packet id → when read. */
  readonly #earlyAcks = new WeakMap<Client, Map<number, number>>();
  readonly #methodWaiters = new Map<string, (reply: { status: number; payload: Buffer }) => void>();

  #broker: Aedes | undefined;

  private constructor(options: MqttFrontEndOptions) {
    this.#options = options;
  }

  /** The aedes instance that serves each accepted socket (`broker.handle(socket)`). */
  get broker(): Aedes {
    return this.#broker!;
  }

  static async create(options: MqttFrontEndOptions): Promise<MqttFrontEnd> {
    const frontEnd = new MqttFrontEnd(options);
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) =>
        frontEnd.#authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => frontEnd.#authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => {
        const result = frontEnd.#authorizeSubscribe(client, sub);
        if (result instanceof Error) done(result);
        else done(null, result);
      },
    });
    frontEnd.#broker = broker;
    frontEnd.#trackCleanAcks(broker);
    broker.on('clientReady', (client) => frontEnd.#onReady(client));
    broker.on('clientDisconnect', (client) => frontEnd.#onGone(client));
    broker.on('unsubscribe', (topics, client) => {
      const session = frontEnd.#sessions.get(client);
      for (const topic of topics) session?.subscriptions.delete(topic);
    });
    // A PUBACK nobody asked for (unknown packet id, or a clean session's) comes with no packet.
    broker.on('ack', (packet: unknown) => frontEnd.#onAck(topicOf(packet)));
    broker.on('clientError', (client, error) =>
      options.log.debug({ clientId: client.id, err: error }, 'Device connection closed on error.'),
    );
    return frontEnd;
  }

  /** Hand queued C2D messages to a connected, subscribed device. */
  pumpC2d(deviceId: string): void {
    const client = this.#clients.get(deviceId);
    if (client === undefined || !this.#c2dSubscribed.has(deviceId)) return;
    for (
      let message = this.#options.c2d.receive(deviceId, Infinity);
      message;
      message = this.#options.c2d.receive(deviceId, Infinity)
    ) {
      this.#inFlight.set(`${deviceId}/${message.messageId}`, message.lockToken!);
      const topic = c2dTopic(message);
      const packet = {
        cmd: 'publish' as const,
        topic,
        payload: message.body,
        qos: 1 as const,
        retain: false,
        dup: false,
      };
      if (client.clean) {
        const sent = this.#cleanInFlight.get(client) ?? new Map<number, string>();
        this.#cleanInFlight.set(client, sent);
        // aedes picks the packet id as it writes and calls back with the written packet as `this`;
        // remember the id so that the PUBACK can be matched (see #trackCleanAcks).
        const early = this.#earlyAcks;
        const complete = (t: string): void => this.#onAck(t);
        client.publish(packet, function (this: unknown) {
          const packetId = (this as { messageId?: unknown } | undefined)?.messageId;
          if (typeof packetId !== 'number') return;
          // The write callback can come after the device's PUBACK was read.
          const ackedAt = early.get(client)?.get(packetId);
          early.get(client)?.delete(packetId);
          if (ackedAt !== undefined && Date.now() - ackedAt < EARLY_ACK_MS) complete(topic);
          else sent.set(packetId, topic);
        });
      } else {
        this.broker.publish(packet, () => undefined);
      }
    }
  }

  /** Invoke a direct method; rejects with status 404 when the device is not listening for methods. */
  invokeMethod(
    deviceId: string,
    method: string,
    payload: Buffer,
    timeoutMs: number,
  ): Promise<{ status: number; payload: Buffer }> {
    const client = this.#clients.get(deviceId);
    const session = client === undefined ? undefined : this.#sessions.get(client);
    if (client === undefined || session?.subscriptions.has(METHODS_FILTER) !== true) {
      return Promise.reject(
        Object.assign(new Error(`device ${deviceId} is not online for methods`), { status: 404 }),
      );
    }
    const rid = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#methodWaiters.delete(`${deviceId}/${rid}`);
        reject(
          Object.assign(new Error(`device ${deviceId} did not answer ${method} in time`), { status: 504 }),
        );
      }, timeoutMs);
      this.#methodWaiters.set(`${deviceId}/${rid}`, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      client.publish(
        {
          cmd: 'publish',
          topic: `$iothub/methods/POST/${method}/?$rid=${rid}`,
          payload,
          qos: 0,
          retain: false,
          dup: false,
        },
        () => undefined,
      );
    });
  }

  /** Send a desired patch to the device if it is connected and subscribed to desired updates. */
  pushDesired(deviceId: string, patch: DesiredPatch): void {
    const client = this.#clients.get(deviceId);
    if (client === undefined || this.#sessions.get(client)?.subscriptions.has(TWIN_DESIRED_FILTER) !== true)
      return;
    this.#publishTo(client, desiredPatchMessage(patch));
  }

  /** Drop every device connection (an outage, for tests). */
  disconnectAll(): void {
    for (const client of this.#clients.values()) client.close();
  }

  isConnected(deviceId: string): boolean {
    return this.#clients.has(deviceId);
  }

  #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    const refuse = (reason: string): void => {
      this.#options.log.debug({ clientId: client.id, reason }, 'Refused a device connection.');
      const error: AuthenticateError = Object.assign(new Error(reason), { returnCode: NOT_AUTHORIZED });
      done(error, null);
    };
    const { registry, now } = this.#options;
    // `deviceId` is the identity: `{d}` for a device, `{d}/{m}` for a module (client id and username alike).
    const deviceId = client.id;
    const [host, ...rest] = (username ?? '').split('/?')[0]!.replace(/\/+$/, '').split('/');
    if (host?.toLowerCase() !== registry.hostName.toLowerCase() || rest.join('/') !== deviceId) {
      refuse('username is not {hub host}/{client id}/?api-version=…');
      return;
    }
    const session: Session = { deviceId, authMethod: 'sas', subscriptions: new Set() };
    if (password === undefined || password.length === 0) {
      const socket = client.conn as unknown as Partial<TLSSocket>;
      if (!certificateMatchesDevice(registry, deviceId, socket.getPeerCertificate?.())) {
        refuse('no token and no matching client certificate');
        return;
      }
      session.authMethod = 'x509';
    } else {
      const check = checkSasToken(registry, password.toString('utf8'), deviceId, Math.floor(now() / 1000));
      if (!check.ok) {
        refuse(check.reason);
        return;
      }
      // The hub drops the connection when the token runs out; the device reconnects with a new one.
      session.expiryTimer = setTimeout(() => client.close(), Math.max(0, check.expiresAtS * 1000 - now()));
    }
    this.#sessions.set(client, session);
    done(null, true);
  }

  #authorizePublish(
    client: Client | null,
    packet: { topic: string; payload: Buffer | string; qos: number; retain: boolean },
    done: (error: Error | null) => void,
  ): void {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return done(new Error('not authenticated'));
    if (packet.qos === 2) return done(new Error('QoS 2 is not supported'));
    const { deviceId } = session;
    const eventsPrefix = `${identityPath(deviceId)}/messages/events/`;
    if (packet.topic.startsWith('$iothub/methods/res/')) {
      this.#onMethodResponse(deviceId, packet.topic, Buffer.from(packet.payload));
      return done(null);
    }
    if (packet.topic.startsWith('$iothub/twin/')) {
      return done(this.#onTwinRequest(client!, packet.topic, Buffer.from(packet.payload)));
    }
    if (!packet.topic.startsWith(eventsPrefix) && `${packet.topic}/` !== eventsPrefix) {
      return done(new Error(`publishing to ${packet.topic} is not allowed`));
    }
    const properties = parsePropertyBag(packet.topic.slice(eventsPrefix.length));
    if (packet.retain) properties['mqtt-retain'] = 'true';
    const body = Buffer.from(packet.payload);
    const sizeBytes = messageSizeBytes(body, properties);
    if (sizeBytes > MAX_D2C_BYTES) return done(new Error(`message of ${sizeBytes} bytes exceeds 256 KB`));
    const { admission, delayMs } = this.#options.meter.shape([sizeBytes]);
    if (admission !== 'ok') {
      return done(
        new Error(admission === 'throttled' ? '429001 ThrottlingException' : '403002 IotHubQuotaExceeded'),
      );
    }
    const accept = (): void => {
      this.#options.onD2c(
        stampD2c(
          { deviceId, authMethod: session.authMethod, body, properties, sizeBytes },
          this.#options.now(),
        ),
      );
      done(null);
    };
    // Traffic shaping: above the rate the hub holds the message (and its PUBACK) instead of refusing it.
    if (delayMs > 0) setTimeout(accept, delayMs);
    else accept();
  }

  #authorizeSubscribe(
    client: Client | null,
    sub: { topic: string; qos: number },
  ): { topic: string; qos: 0 | 1 } | Error {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return new Error('not authenticated');
    // A module has no C2D queue: methods and its module twin only.
    const isModule = session.deviceId.includes('/');
    const allowed = [...(isModule ? [] : [c2dFilter(session.deviceId)]), METHODS_FILTER, ...TWIN_FILTERS];
    if (!allowed.includes(sub.topic)) return new Error(`subscribing to ${sub.topic} is not allowed`);
    session.subscriptions.add(sub.topic);
    if (session.subscriptions.size > MAX_SUBSCRIPTIONS) return new Error('more than 5 subscriptions');
    if (sub.topic === c2dFilter(session.deviceId)) {
      this.#c2dSubscribed.add(session.deviceId);
      setImmediate(() => this.pumpC2d(session.deviceId));
    }
    // The hub grants QoS 1 for a QoS 2 request.
    return { topic: sub.topic, qos: sub.qos >= 1 ? 1 : 0 };
  }

  #onReady(client: Client): void {
    const session = this.#sessions.get(client);
    if (session === undefined) return;
    this.#clients.set(session.deviceId, client);
    if (client.clean) {
      this.#c2dSubscribed.delete(session.deviceId);
      // A clean session discards the old one's unacknowledged messages; the hub keeps them queued.
      this.#releaseDevice(session.deviceId);
    }
    this.pumpC2d(session.deviceId);
  }

  #onGone(client: Client): void {
    const session = this.#sessions.get(client);
    if (session === undefined) return;
    clearTimeout(session.expiryTimer);
    if (this.#clients.get(session.deviceId) === client) this.#clients.delete(session.deviceId);
    if (client.clean) {
      // What this session never acknowledged is visible again: redelivered on the next connection,
      // or expired by the hub's clock meanwhile.
      for (const topic of this.#cleanInFlight.get(client)?.values() ?? []) this.#release(topic);
      this.#cleanInFlight.delete(client);
      this.pumpC2d(session.deviceId);
    }
  }

  /** Release the locks of every message handed to an earlier session of the device. */
  #releaseDevice(deviceId: string): void {
    for (const [key, lockToken] of [...this.#inFlight]) {
      if (!key.startsWith(`${deviceId}/`)) continue;
      this.#inFlight.delete(key);
      this.#options.c2d.release(deviceId, lockToken);
    }
  }

  #release(topic: string): void {
    const key = c2dKey(topic);
    const lockToken = key === undefined ? undefined : this.#inFlight.get(key.key);
    if (key === undefined || lockToken === undefined) return;
    this.#inFlight.delete(key.key);
    this.#options.c2d.release(key.deviceId, lockToken);
  }

  /**
   * aedes answers a PUBACK from its outgoing store, which a clean session does not have; look those up in
   * the clean session's own packet ids instead. Anything else (a stray PUBACK) stays unmatched.
   */
  #trackCleanAcks(broker: Aedes): void {
    const { persistence } = broker as unknown as {
      persistence: {
        outgoingClearMessageId(client: Client, packet: { messageId?: number }): Promise<unknown>;
      };
    };
    const clear = persistence.outgoingClearMessageId.bind(persistence);
    persistence.outgoingClearMessageId = async (client, packet) => {
      const stored = await clear(client, packet);
      if (stored !== undefined || !client.clean || packet.messageId === undefined) return stored;
      const sent = this.#cleanInFlight.get(client);
      const topic = sent?.get(packet.messageId);
      if (topic === undefined) {
        // Stray, or ahead of the write callback that names the packet id: park it for a moment.
        const early = this.#earlyAcks.get(client) ?? new Map<number, number>();
        if (early.size < MAX_EARLY_ACKS) early.set(packet.messageId, Date.now());
        this.#earlyAcks.set(client, early);
        return undefined;
      }
      sent!.delete(packet.messageId);
      return { cmd: 'publish', topic, messageId: packet.messageId };
    };
  }

  /** A PUBACK for a C2D message: over MQTT that is `complete` (docs/clouds/azure-iot-hub.md#mqtt-topics). */
  #onAck(topic: string | undefined): void {
    const key = topic === undefined ? undefined : c2dKey(topic);
    if (key === undefined) return;
    const lockToken = this.#inFlight.get(key.key);
    if (lockToken === undefined) return;
    this.#inFlight.delete(key.key);
    this.#options.c2d.complete(key.deviceId, lockToken);
  }

  /** Answers twin GET / reported PATCH; the answer goes out after aedes has taken the request. */
  #onTwinRequest(client: Client, topic: string, payload: Buffer): Error | null {
    const twins = this.#options.twins;
    if (twins === undefined) return null;
    const session = this.#sessions.get(client)!;
    const reply = answerTwinRequest(twins, session.deviceId, topic, payload);
    if (reply instanceof Error) return reply;
    // The hub answers on the response subscription; a device that has none never hears the answer.
    if (session.subscriptions.has(TWIN_RESPONSE_FILTER)) setImmediate(() => this.#publishTo(client, reply));
    return null;
  }

  #publishTo(client: Client, message: MqttReply): void {
    client.publish(
      { cmd: 'publish', topic: message.topic, payload: message.payload, qos: 0, retain: false, dup: false },
      () => undefined,
    );
  }

  #onMethodResponse(deviceId: string, topic: string, payload: Buffer): void {
    const match = /^\$iothub\/methods\/res\/(\d+)\/\?\$rid=(.+)$/.exec(topic);
    if (match === null) return;
    const waiter = this.#methodWaiters.get(`${deviceId}/${match[2]}`);
    this.#methodWaiters.delete(`${deviceId}/${match[2]}`);
    waiter?.({ status: Number(match[1]), payload });
  }
}

/** The topic of a packet aedes hands to its `ack` event, which may be none at all. */
function topicOf(packet: unknown): string | undefined {
  if (typeof packet !== 'object' || packet === null || !('topic' in packet)) return undefined;
  return typeof packet.topic === 'string' ? packet.topic : undefined;
}

/** The device and `deviceId/messageId` key of a C2D topic, or undefined for any other topic. */
function c2dKey(topic: string): { deviceId: string; key: string } | undefined {
  const match = /^devices\/([^/]+)\/messages\/devicebound\/(.*)$/.exec(topic);
  if (match === null) return undefined;
  const deviceId = match[1]!;
  return { deviceId, key: `${deviceId}/${parsePropertyBag(match[2]!)['$.mid']}` };
}

function c2dTopic(message: C2dMessage): string {
  const bag = formatPropertyBag({
    '$.mid': message.messageId,
    '$.to': `/devices/${message.deviceId}/messages/deviceBound`,
    '$.exp': new Date(message.expiresAt).toISOString(),
    ...message.properties,
    'iothub-ack': message.ack,
  });
  return `devices/${message.deviceId}/messages/devicebound/${bag}`;
}

/** `devices/{d}` for a device, `devices/{d}/modules/{m}` for a module identity `{d}/{m}`. */
function identityPath(identity: string): string {
  const [device, module] = identity.split('/');
  return module === undefined ? `devices/${device}` : `devices/${device}/modules/${module}`;
}
