import { once } from 'node:events';
import { createServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from '../../src/logger.js';
import {
  BROKER_LIMITS,
  PublishRate,
  filterMatches,
  publishViolation,
  subscribeViolation,
} from './broker-rules.js';
import type { KeyPair } from './certs.js';
import type { Meter } from './meter.js';
import { isAllowed, type PolicyDocument, type PolicySubject } from './policy.js';
import type { Registry } from './registry.js';

/**
 * ALPN protocol of MQTT with a client certificate on port 443
 * (docs/clouds/aws-iot-core.md#endpoints-and-authentication).
 */
const MQTT_ALPN = 'x-amzn-mqtt-ca';
/**
 * Where a discarded device publish goes: a topic no device receives. The broker's own `#` subscribers
 * (the cloud side) still see it, empty; they skip it.
 */
export const DISCARDED_TOPIC = '$emulator/discarded';
/** CONNACK return code 5, "not authorized" (MQTT 3.1.1 §3.2.2.3). */
const NOT_AUTHORIZED = 5;

export interface IotBrokerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The emulator CA: device certificates must chain to it. */
  ca: KeyPair;
  /** The endpoint's certificate, issued by the CA. */
  server: KeyPair;
  registry: Registry;
  meter: Meter;
  log: Logger;
  /**
   * How a refused CONNECT is answered. IoT Core closes the socket without a CONNACK
   * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits), the default;
   * `connack` answers CONNACK 5 instead, as some documentation suggests.
   */
  connectDenial?: 'close' | 'connack';
  /**
   * Require ALPN `x-amzn-mqtt-ca`, as IoT Core does for MQTT on port 443
   * (docs/clouds/aws-iot-core.md#endpoints-and-authentication). Default: only when `port` is 443.
   */
  requireAlpn?: boolean;
  now?: () => number;
}

/** A refused connect, publish or subscribe: what the account's logs would show. */
export interface Refusal {
  clientId: string;
  action: 'connect' | 'publish' | 'subscribe';
  reason: string;
}

export interface IotBroker {
  port: number;
  /** The aedes instance, for the cloud side: `publish` commands, `subscribe` to observe devices. */
  aedes: Aedes;
  /** Refusals so far, oldest first. */
  refusals(): readonly Refusal[];
  /**
   * The most publishes a client id's connection carried in any one-second window, both directions
   * together (IoT Core counts them as one budget), over all its connections.
   */
  peakPublishRate(clientId: string): number;
  /**
   * Publishes IoT Core would have discarded silently for breaking the connection's 100/s, per direction:
   * `inbound` from the device (no PUBACK, not delivered), `outbound` to it (never sent).
   */
  discarded(clientId: string): { inbound: number; outbound: number };
  /**
   * Deliver a service response to one connected client even if no subscription of its matches (IoT Core
   * does so for Jobs responses, docs/clouds/aws-iot-core.md#commands-request-topics-jobs-shadows); a client
   * whose subscriptions match gets it through them instead.
   */
  deliverTo(clientId: string, topic: string, payload: Buffer): void;
  close(): Promise<void>;
}

interface Connection {
  subject: PolicySubject;
  policies: PolicyDocument[];
  subscriptions: Set<string>;
  rate: PublishRate;
  /** Set when the connect was refused but is answered with a CONNACK (mode `connack`). */
  deniedReason?: string;
}

/**
 * The MQTT side of the emulated IoT Core (docs/clouds/aws-iot-core.md#what-the-emulator-must-do): mutual TLS
 * with SNI, certificate →
 * thing → policies, policy checks on connect, publish, subscribe and receive with thing-name variables,
 * and the broker rules that differ from plain MQTT. What happens on a breach follows IoT Core's MQTT
 * 3.1.1 behaviour: a refused CONNECT closes the socket, a refused subscription gets SUBACK 0x80, a refused
 * PUBLISH closes the connection. QoS 2 publishes get no acknowledgement and are delivered at QoS 0.
 *
 * Publishes count against one 100/s budget per connection in both directions, device → service and
 * service → device, and the excess is discarded silently, as IoT Core does: an inbound QoS 1 publish gets
 * no PUBACK and goes nowhere, an outbound one (a shadow answer, a command) is never sent. `discarded`
 * tells tests what was lost. Without ALPN `x-amzn-mqtt-ca` on port 443 the connection is closed.
 *
 * Not emulated: MQTT 5, persistent-session expiry (1 h), replay pacing, keep-alive clamping, in-flight
 * window limits, the 512 KiB/s byte rate.
 */
export async function startIotBroker(options: IotBrokerOptions): Promise<IotBroker> {
  const log = options.log.child({ component: 'aws-emulator' });
  const now = options.now ?? Date.now;
  const connections = new WeakMap<Client, Connection>();
  const lastConnectAt = new Map<string, number>();
  const peaks = new Map<string, number>();
  const refusalList: Refusal[] = [];
  const discards = new Map<string, { inbound: number; outbound: number }>();
  const requireAlpn = options.requireAlpn ?? options.port === 443;
  /**
   * Count one publish on a connection, either direction; false when it breaks the 100/s and IoT Core
   * would discard it (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
   */
  const withinRate = (connection: Connection, direction: 'inbound' | 'outbound'): boolean => {
    const { clientId } = connection.subject;
    const count = connection.rate.record(now());
    peaks.set(clientId, Math.max(peaks.get(clientId) ?? 0, connection.rate.peak));
    if (count <= BROKER_LIMITS.maxPublishesPerSecond) return true;
    const counts = discards.get(clientId) ?? { inbound: 0, outbound: 0 };
    counts[direction] += 1;
    discards.set(clientId, counts);
    options.meter.discarded();
    if (counts.inbound + counts.outbound === 1) {
      log.info({ clientId, direction }, 'Over 100 publishes per second on a connection: discarding.');
    }
    return false;
  };
  /** Payloads of `deliverTo` responses: forwarded without a matching subscription. */
  const directPayloads = new WeakSet<Buffer>();
  let directCounter = 0;

  const refuse = (clientId: string, action: Refusal['action'], reason: string): Error => {
    refusalList.push({ clientId, action, reason });
    log.info({ clientId, action, reason }, 'Refused.');
    return new Error(reason);
  };

  /** Decide a CONNECT: undefined when admitted, else why not. */
  const admit = (client: Client, clientId: string): { connection?: Connection; reason?: string } => {
    const socket = client.conn as TLSSocket;
    if (requireAlpn && socket.alpnProtocol !== MQTT_ALPN) {
      return { reason: `ALPN ${MQTT_ALPN} is required on this port` };
    }
    const fingerprint = socket.getPeerCertificate().fingerprint256;
    const principal = fingerprint === undefined ? undefined : options.registry.principal(fingerprint);
    if (principal === undefined) return { reason: 'certificate is not registered or not active' };
    if (clientId.length === 0 || clientId.startsWith('$'))
      return { reason: 'client id is empty or reserved' };
    if (Buffer.byteLength(clientId) > BROKER_LIMITS.maxClientIdBytes)
      return { reason: 'client id is too long' };
    const previous = lastConnectAt.get(clientId);
    lastConnectAt.set(clientId, now());
    if (previous !== undefined && now() - previous < BROKER_LIMITS.minConnectIntervalMs) {
      return { reason: 'more than one CONNECT per second for this client id' };
    }
    const subject: PolicySubject = { clientId };
    if (principal.certificate.things.includes(clientId)) subject.thingName = clientId;
    if (!isAllowed(principal.policies, 'iot:Connect', clientId, subject)) {
      return { reason: 'policy does not allow iot:Connect for this client id' };
    }
    return {
      connection: {
        subject,
        policies: principal.policies,
        subscriptions: new Set(),
        rate: new PublishRate(),
      },
    };
  };

  const aedes = await Aedes.createBroker({
    preConnect: (client, packet, done) => {
      const clientId = packet.clientId;
      const { connection, reason } = admit(client, clientId);
      if (reason === undefined && connection !== undefined) {
        connections.set(client, connection);
        done(null, true);
        return;
      }
      const error = refuse(clientId, 'connect', reason ?? 'refused');
      if (options.connectDenial === 'connack') {
        connections.set(client, {
          subject: { clientId },
          policies: [],
          subscriptions: new Set(),
          rate: new PublishRate(),
          deniedReason: reason ?? 'refused',
        });
        done(null, true);
        return;
      }
      done(error, false);
    },
    authenticate: (client, _username, _password, done) => {
      const denied = connections.get(client)?.deniedReason;
      if (denied === undefined) {
        done(null, true);
        return;
      }
      const error = new Error(denied) as AuthenticateError;
      error.returnCode = NOT_AUTHORIZED;
      done(error, null);
    },
    authorizePublish: (client, packet, done) => {
      // Publishes by the emulator itself (the cloud side) have no client and are always allowed.
      if (client === null) {
        done(null);
        return;
      }
      const connection = connections.get(client);
      if (connection === undefined) {
        done(new Error('unknown connection'));
        return;
      }
      const { clientId } = connection.subject;
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const reason =
        publishViolation({ topic: packet.topic, payload, retain: packet.retain }) ??
        (isAllowed(connection.policies, 'iot:Publish', packet.topic, connection.subject)
          ? undefined
          : 'policy does not allow iot:Publish on this topic');
      if (reason !== undefined) {
        options.meter.refused();
        done(refuse(clientId, 'publish', reason));
        return;
      }
      if (!withinRate(connection, 'inbound')) {
        // Discarded silently, as IoT Core does: no PUBACK, no delivery, the connection stays. aedes acks
        // QoS 1 and delivers whatever it authorizes, so the packet becomes a QoS 0 publish nobody sees.
        packet.qos = 0;
        packet.retain = false;
        packet.topic = DISCARDED_TOPIC;
        packet.payload = Buffer.alloc(0);
        done(null);
        return;
      }
      // IoT Core supports QoS 0 and 1 only; a QoS 2 publish gets no acknowledgement at all
      // (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
      if (packet.qos === 2) packet.qos = 0;
      options.meter.inbound(packet.topic, payload.length, 'mqtt');
      if (packet.retain) options.meter.retained(packet.topic, payload.length);
      done(null);
    },
    authorizeSubscribe: (client, subscription, done) => {
      const connection = connections.get(client);
      if (connection === undefined) {
        done(new Error('unknown connection'));
        return;
      }
      const { topic } = subscription;
      const reason =
        subscribeViolation(topic, connection.subscriptions.size) ??
        (isAllowed(connection.policies, 'iot:Subscribe', topic, connection.subject)
          ? undefined
          : 'policy does not allow iot:Subscribe on this filter');
      if (reason !== undefined) {
        refuse(connection.subject.clientId, 'subscribe', reason);
        done(null, null);
        return;
      }
      connection.subscriptions.add(topic);
      done(null, { ...subscription, qos: Math.min(subscription.qos, 1) as 0 | 1 });
    },
    authorizeForward: (client, packet) => {
      const connection = connections.get(client);
      if (connection === undefined) return null;
      const { topic } = packet;
      if (topic === DISCARDED_TOPIC) return null;
      const matching = [...connection.subscriptions].filter((f) => filterMatches(f, topic));
      // aedes matches `a/#` against `a` and hands out retained messages to wildcard filters; IoT Core
      // does neither (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits): retained messages go only to a
      // filter equal to the topic.
      if (matching.length === 0 && !directPayloads.has(packet.payload as Buffer)) return null;
      if (packet.retain && !matching.includes(topic)) return null;
      if (!isAllowed(connection.policies, 'iot:Receive', topic, connection.subject)) return null;
      if (!withinRate(connection, 'outbound')) return null;
      options.meter.outbound(topic, packet.payload.length);
      return packet;
    },
  });
  aedes.on('unsubscribe', (topics, client) => {
    const connection = connections.get(client);
    for (const topic of topics) connection?.subscriptions.delete(topic);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    if (connections.get(client)?.deniedReason !== undefined) return;
    options.meter.subscribe(subscriptions.map((s) => s.topic));
  });
  aedes.on('ack', (_packet, client) => {
    if (client !== null && connections.has(client)) options.meter.pubackFromDevice();
  });
  aedes.on('client', (client) => {
    if (connections.get(client)?.deniedReason === undefined) options.meter.connected(client.id);
  });
  aedes.on('clientDisconnect', (client) => options.meter.disconnected(client.id));
  aedes.on('clientError', (client, error) => {
    log.debug({ clientId: client.id, err: error }, 'Client error.');
  });
  aedes.on('clientReady', (client) => log.debug({ clientId: client.id }, 'Client connected.'));

  const sockets = new Set<TLSSocket>();
  const server = createServer(
    {
      key: options.server.keyPem,
      cert: options.server.certPem,
      ca: options.ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ALPNProtocols: [MQTT_ALPN],
    },
    (socket) => {
      // IoT Core refuses a handshake without SNI (docs/clouds/aws-iot-core.md#endpoints-and-authentication);
      // Node sends none when connecting to an IP address.
      if (socket.servername === false || socket.servername === undefined) {
        socket.destroy();
        return;
      }
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      aedes.handle(socket);
    },
  );
  server.on('tlsClientError', (e) => log.debug({ err: e }, 'TLS handshake failed.'));
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await serverClosed;
  };
  return {
    port,
    aedes,
    refusals: () => refusalList,
    peakPublishRate: (clientId) => peaks.get(clientId) ?? 0,
    discarded: (clientId) => ({ ...(discards.get(clientId) ?? { inbound: 0, outbound: 0 }) }),
    deliverTo: (clientId, topic, payload) => {
      const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
      const connection = client === undefined ? undefined : connections.get(client);
      if (client === undefined || connection === undefined) return;
      if ([...connection.subscriptions].some((f) => filterMatches(f, topic))) return;
      const copy = Buffer.from(payload);
      directPayloads.add(copy);
      // aedes drops a packet whose counter is not above the last one the client got from the same
      // broker id; a direct delivery overtakes queued broadcasts, so it counts under its own id.
      directCounter += 1;
      const packet = {
        ...{ cmd: 'publish' as const, topic, payload: copy, qos: 1 as const, retain: false, dup: false },
        brokerId: 'direct-replies',
        brokerCounter: directCounter,
      };
      client.publish(packet, (e) => {
        if (e) log.debug({ err: e, clientId, topic }, 'Delivering a response failed.');
      });
    },
    close: () => (closing ??= close()),
  };
}
