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
      authorizePublish: (client, packet, done) => done(frontEnd.#authorizePublish(client, packet)),
      authorizeSubscribe: (client, sub, done) => {
        const result = frontEnd.#authorizeSubscribe(client, sub);
        if (result instanceof Error) done(result);
        else done(null, result);
      },
    });
    frontEnd.#broker = broker;
    broker.on('clientReady', (client) => frontEnd.#onReady(client));
    broker.on('clientDisconnect', (client) => frontEnd.#onGone(client));
    broker.on('unsubscribe', (topics, client) => {
      const session = frontEnd.#sessions.get(client);
      for (const topic of topics) session?.subscriptions.delete(topic);
    });
    broker.on('ack', (packet) => frontEnd.#onAck('topic' in packet ? packet.topic : ''));
    broker.on('clientError', (client, error) =>
      options.log.debug({ clientId: client.id, err: error }, 'Device connection closed on error.'),
    );
    return frontEnd;
  }

  /** Hand queued C2D messages to a connected, subscribed device. */
  pumpC2d(deviceId: string): void {
    if (!this.#clients.has(deviceId) || !this.#c2dSubscribed.has(deviceId)) return;
    for (
      let message = this.#options.c2d.receive(deviceId, Infinity);
      message;
      message = this.#options.c2d.receive(deviceId, Infinity)
    ) {
      this.#inFlight.set(`${deviceId}/${message.messageId}`, message.lockToken!);
      this.broker.publish(
        {
          cmd: 'publish',
          topic: c2dTopic(message),
          payload: message.body,
          qos: 1,
          retain: false,
          dup: false,
        },
        () => undefined,
      );
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
    const deviceId = client.id;
    const [host, userDevice] = (username ?? '').split('/');
    if (host?.toLowerCase() !== registry.hostName.toLowerCase() || userDevice !== deviceId) {
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
  ): Error | null {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return new Error('not authenticated');
    if (packet.qos === 2) return new Error('QoS 2 is not supported');
    const { deviceId } = session;
    const eventsPrefix = `devices/${deviceId}/messages/events/`;
    if (packet.topic.startsWith('$iothub/methods/res/')) {
      this.#onMethodResponse(deviceId, packet.topic, Buffer.from(packet.payload));
      return null;
    }
    if (packet.topic.startsWith('$iothub/twin/')) {
      return this.#onTwinRequest(client!, packet.topic, Buffer.from(packet.payload));
    }
    if (!packet.topic.startsWith(eventsPrefix) && `${packet.topic}/` !== eventsPrefix) {
      return new Error(`publishing to ${packet.topic} is not allowed`);
    }
    const properties = parsePropertyBag(packet.topic.slice(eventsPrefix.length));
    if (packet.retain) properties['mqtt-retain'] = 'true';
    const body = Buffer.from(packet.payload);
    const sizeBytes = messageSizeBytes(body, properties);
    if (sizeBytes > MAX_D2C_BYTES) return new Error(`message of ${sizeBytes} bytes exceeds 256 KB`);
    const admission = this.#options.meter.admit(sizeBytes);
    if (admission !== 'ok')
      return new Error(
        admission === 'throttled' ? '429001 ThrottlingException' : '403002 IotHubQuotaExceeded',
      );
    this.#options.onD2c(
      stampD2c(
        { deviceId, authMethod: session.authMethod, body, properties, sizeBytes },
        this.#options.now(),
      ),
    );
    return null;
  }

  #authorizeSubscribe(
    client: Client | null,
    sub: { topic: string; qos: number },
  ): { topic: string; qos: 0 | 1 } | Error {
    const session = client === null ? undefined : this.#sessions.get(client);
    if (session === undefined) return new Error('not authenticated');
    const allowed = [c2dFilter(session.deviceId), METHODS_FILTER, ...TWIN_FILTERS];
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
    if (client.clean) this.#c2dSubscribed.delete(session.deviceId);
    this.pumpC2d(session.deviceId);
  }

  #onGone(client: Client): void {
    const session = this.#sessions.get(client);
    if (session === undefined) return;
    clearTimeout(session.expiryTimer);
    if (this.#clients.get(session.deviceId) === client) this.#clients.delete(session.deviceId);
  }

  /** A PUBACK for a C2D message: over MQTT that is `complete` (docs/clouds/azure-iot-hub.md#mqtt-topics). */
  #onAck(topic: string): void {
    const match = /^devices\/([^/]+)\/messages\/devicebound\/(.*)$/.exec(topic);
    if (match === null) return;
    const deviceId = match[1]!;
    const messageId = parsePropertyBag(match[2]!)['$.mid'];
    const key = `${deviceId}/${messageId}`;
    const lockToken = this.#inFlight.get(key);
    if (lockToken === undefined) return;
    this.#inFlight.delete(key);
    this.#options.c2d.complete(deviceId, lockToken);
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
