import { once } from 'node:events';
import type { Server, Socket } from 'node:net';
import rhea, {
  type Connection,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type Sender,
} from 'rhea';
import type { Logger } from '../../logger.js';
import {
  BATCH_MESSAGE_FORMAT,
  decodeBatch,
  fromPropertyBag,
  toPropertyBag,
} from '../../upstream/azure/amqp-message.js';
import { MAX_BATCH_BYTES } from '../../upstream/azure/encode.js';
import { parseSasToken } from '../../upstream/azure/sas.js';
import type { C2dQueues } from './c2d-queue.js';
import { messageSizeBytes, stampD2c, type D2cRecord } from './d2c-record.js';
import type { HubMeter } from './meter.js';
import type { HubRegistry } from './registry.js';
import { checkSasToken } from './sas-check.js';
import { certificateMatchesDevice } from './x509-check.js';
import { parseChannelAddress } from '../../upstream/azure/amqp-device-channels.js';
import { AmqpDeviceLinks } from './amqp-device-links.js';
import type { TwinStore } from './twin-store.js';

export interface AmqpFrontEndOptions {
  registry: HubRegistry;
  c2d: C2dQueues;
  meter: HubMeter;
  log: Logger;
  now: () => number;
  onD2c: (record: D2cRecord) => void;
  host: string;
  /** 0 picks a free port; the hub's own is 5671. */
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** Device twins served on `/devices/{id}/twin`; without them twin requests get 501. */
  twins?: TwinStore;
}

/** Tokens put on one connection's CBS link, by audience. */
interface ConnectionState {
  tokens: Map<string, { token: string; expiresAtS: number; timer: NodeJS.Timeout }>;
  cbsReplies?: Sender;
}

/** The hub's limit on tokens per connection (403005 IotHubMaxCbsTokenExceeded past it). */
const MAX_TOKENS_PER_CONNECTION = 999;
const UNAUTHORIZED = 'amqp:unauthorized-access';

/**
 * IoT Hub's AMQP 1.0 front end on rhea (reference A4, A9.4). Accepts TLS (or plain TCP locally) with no
 * SASL or SASL ANONYMOUS; answers CBS `put-token` on `$cbs` with `status-code` 200 or 401 after the same
 * SAS check as MQTT; attaches `/devices/{id}/messages/events` and `/devices/{id}/messages/devicebound`
 * only for devices a live token on that connection covers (or whose registered certificate the TLS
 * client presented: X.509, no CBS), and detaches them with `amqp:unauthorized-access` when that token
 * expires unrenewed. D2C transfers, single or in the hub's
 * batch format, are size-checked, metered and recorded; C2D messages go out on the devicebound link and
 * its dispositions drive the C2D engine: accepted → complete, rejected → reject, released → abandon.
 */
export class AmqpFrontEnd {
  readonly port: number;
  /** Twin and direct-method channels of the devices on this front end. */
  readonly deviceLinks: AmqpDeviceLinks;
  readonly #options: AmqpFrontEndOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Map<Connection, ConnectionState>();
  readonly #c2dLinks = new Map<string, Set<Sender>>();
  readonly #locks = new WeakMap<Delivery, { deviceId: string; lockToken: string }>();

  private constructor(options: AmqpFrontEndOptions, server: Server, port: number) {
    this.#options = options;
    this.#server = server;
    this.port = port;
    this.deviceLinks = new AmqpDeviceLinks({
      log: options.log,
      ...(options.twins ? { twins: options.twins } : {}),
    });
  }

  static async listen(options: AmqpFrontEndOptions): Promise<AmqpFrontEnd> {
    const container = rhea.create_container({ id: options.registry.hostName, autoaccept: false });
    const server = container.listen({
      host: options.host,
      port: options.port,
      ...(options.tls === undefined
        ? { transport: 'tcp' }
        : { transport: 'tls', ...options.tls, requestCert: true, rejectUnauthorized: false }),
    });
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    const frontEnd = new AmqpFrontEnd(options, server, port);
    server.on(options.tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      frontEnd.#sockets.add(socket);
      socket.once('close', () => frontEnd.#sockets.delete(socket));
    });
    container.on('connection_open', (c: EventContext) =>
      frontEnd.#connections.set(c.connection, { tokens: new Map() }),
    );
    container.on('disconnected', (c: EventContext) => frontEnd.#forget(c.connection));
    container.on('connection_close', (c: EventContext) => frontEnd.#forget(c.connection));
    container.on('receiver_open', (c: EventContext) => frontEnd.#onReceiverOpen(c.connection, c.receiver!));
    container.on('sender_open', (c: EventContext) => frontEnd.#onSenderOpen(c.connection, c.sender!));
    container.on('sender_close', (c: EventContext) => {
      frontEnd.#dropC2dLink(c.sender!);
      frontEnd.deviceLinks.drop({ sender: c.sender! });
    });
    container.on('message', (c: EventContext) => frontEnd.#onMessage(c));
    container.on('sendable', (c: EventContext) => frontEnd.#onSendable(c.sender!));
    container.on('accepted', (c: EventContext) => frontEnd.#settle(c.delivery!, 'complete'));
    container.on('rejected', (c: EventContext) => frontEnd.#settle(c.delivery!, 'reject'));
    container.on('released', (c: EventContext) => frontEnd.#settle(c.delivery!, 'abandon'));
    container.on('modified', (c: EventContext) => frontEnd.#settle(c.delivery!, 'abandon'));
    container.on('error', (e: unknown) => options.log.debug({ err: e }, 'AMQP connection error.'));
    return frontEnd;
  }

  /** Hand queued C2D messages to the device's devicebound links while they have credit. */
  pumpC2d(deviceId: string): void {
    for (const link of this.#c2dLinks.get(deviceId) ?? []) {
      while (link.sendable()) {
        const message = this.#options.c2d.receive(deviceId);
        if (message === undefined) return;
        const amqp = fromPropertyBag(
          {
            '$.mid': message.messageId,
            '$.to': `/devices/${deviceId}/messages/deviceBound`,
            '$.exp': new Date(message.expiresAt).toISOString(),
            ...message.properties,
            'iothub-ack': message.ack,
          },
          message.body,
        );
        amqp.message_annotations = {
          'x-opt-lock-token': message.lockToken,
          'x-opt-sequence-number': message.sequenceNumber,
          'iothub-deliverycount': message.deliveryCount,
        };
        const delivery = link.send(amqp);
        this.#locks.set(delivery, { deviceId, lockToken: message.lockToken! });
      }
    }
  }

  isConnected(deviceId: string): boolean {
    return (this.#c2dLinks.get(deviceId)?.size ?? 0) > 0;
  }

  /** Drop every connection (an outage, for tests). */
  disconnectAll(): void {
    // Forget the links now, not when rhea reports the close later: a C2D message queued in between
    // would otherwise go out on a dead link and stay locked for the hub's 60 s.
    for (const connection of [...this.#connections.keys()]) this.#forget(connection);
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.disconnectAll();
    await closed;
  }

  #onReceiverOpen(connection: Connection, receiver: Receiver): void {
    const address = addressOf(receiver.target);
    const deviceId = parseChannelAddress(address)?.deviceId ?? deviceOf(address, 'events');
    const refusal =
      address === '$cbs'
        ? undefined
        : deviceId === undefined
          ? `no such address ${address}`
          : this.#refusal(connection, deviceId);
    if (refusal !== undefined) {
      // AMQP refuses a link by attaching with no terminus and detaching at once with the reason.
      receiver.close({ condition: UNAUTHORIZED, description: refusal });
      return;
    }
    echoTermini(receiver);
    receiver.add_credit(100);
  }

  #onSenderOpen(connection: Connection, sender: Sender): void {
    const address = addressOf(sender.source);
    if (address === '$cbs') {
      echoTermini(sender);
      this.#state(connection).cbsReplies = sender;
      return;
    }
    const channel = parseChannelAddress(address);
    const deviceId = channel?.deviceId ?? deviceOf(address, 'devicebound');
    const refusal =
      deviceId === undefined ? `no such address ${address}` : this.#refusal(connection, deviceId);
    if (refusal !== undefined || deviceId === undefined) {
      sender.close({ condition: UNAUTHORIZED, description: refusal ?? 'refused' });
      return;
    }
    echoTermini(sender);
    if (channel !== undefined) {
      this.deviceLinks.addOutbound(sender, channel.deviceId, channel.kind);
      return;
    }
    const links = this.#c2dLinks.get(deviceId) ?? new Set<Sender>();
    links.add(sender);
    this.#c2dLinks.set(deviceId, links);
  }

  #onSendable(sender: Sender): void {
    const deviceId = deviceOf(addressOf(sender.source), 'devicebound');
    if (deviceId !== undefined) this.pumpC2d(deviceId);
  }

  #onMessage(context: EventContext): void {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const address = addressOf(receiver.target);
    if (address === '$cbs') {
      delivery.accept();
      this.#putToken(context.connection, context.message!);
      return;
    }
    const channel = parseChannelAddress(address);
    if (channel !== undefined) {
      this.deviceLinks.onMessage(
        context.connection,
        channel.deviceId,
        channel.kind,
        context.message!,
        delivery,
      );
      return;
    }
    const deviceId = deviceOf(address, 'events')!;
    const transfer = context.message as unknown;
    const messages =
      delivery.format === BATCH_MESSAGE_FORMAT ? decodeBatch(transfer as Buffer) : [transfer as Message];
    const decoded = messages.map((m) => {
      const { properties, body } = toPropertyBag(m);
      return { properties, body, sizeBytes: messageSizeBytes(body, properties) };
    });
    const totalBytes = decoded.reduce((sum, m) => sum + m.sizeBytes, 0);
    if (totalBytes > MAX_BATCH_BYTES) {
      delivery.reject({
        condition: 'amqp:link:message-size-exceeded',
        description: `${totalBytes} bytes exceed 256 KB`,
      });
      return;
    }
    const admission = this.#options.meter.admitAll(decoded.map((m) => m.sizeBytes));
    if (admission !== 'ok') {
      delivery.reject(
        admission === 'throttled'
          ? {
              condition: 'com.microsoft:device-container-throttled',
              description: '429001 ThrottlingException',
            }
          : { condition: 'com.microsoft:quota-exceeded', description: '403002 IotHubQuotaExceeded' },
      );
      return;
    }
    const now = this.#options.now();
    const authMethod = this.#hasDeviceCertificate(context.connection, deviceId) ? 'x509' : 'sas';
    for (const m of decoded) this.#options.onD2c(stampD2c({ deviceId, authMethod, ...m }, now));
    delivery.accept();
  }

  #hasDeviceCertificate(connection: Connection, deviceId: string): boolean {
    return certificateMatchesDevice(this.#options.registry, deviceId, connection.get_peer_certificate());
  }

  #putToken(connection: Connection, request: Message): void {
    const state = this.#state(connection);
    const properties = (request.application_properties ?? {}) as Record<string, unknown>;
    const audience = String(properties.name);
    const token = typeof request.body === 'string' ? request.body : '';
    const reply = (status: number, description: string): void => {
      state.cbsReplies?.send({
        body: null,
        ...(request.message_id === undefined ? {} : { correlation_id: request.message_id }),
        ...(typeof request.reply_to === 'string' ? { to: request.reply_to } : {}),
        application_properties: { 'status-code': status, 'status-description': description },
      });
    };
    if (properties.operation !== 'put-token') {
      reply(400, 'only put-token is supported');
      return;
    }
    if (!state.tokens.has(audience) && state.tokens.size >= MAX_TOKENS_PER_CONNECTION) {
      reply(403, '403005 IotHubMaxCbsTokenExceeded');
      return;
    }
    const nowS = Math.floor(this.#options.now() / 1000);
    const check = checkSasToken(this.#options.registry, token, tokenDevice(token), nowS);
    if (!check.ok) {
      this.#options.log.debug({ audience, reason: check.reason }, 'Refused a CBS token.');
      reply(401, check.reason);
      return;
    }
    clearTimeout(state.tokens.get(audience)?.timer);
    const timer = setTimeout(
      () => this.#expire(connection, audience, token),
      check.expiresAtS * 1000 - this.#options.now(),
    );
    state.tokens.set(audience, { token, expiresAtS: check.expiresAtS, timer });
    reply(200, 'OK');
  }

  /** A token ran out unrenewed: detach the links of every device no other token covers. */
  #expire(connection: Connection, audience: string, token: string): void {
    const state = this.#connections.get(connection);
    if (state?.tokens.get(audience)?.token !== token) return;
    state.tokens.delete(audience);
    const isCovered = (deviceId: string | undefined): boolean =>
      deviceId !== undefined && this.#refusal(connection, deviceId) === undefined;
    connection.each_link((link: Sender | Receiver) => {
      const address = addressOf(link.is_sender() ? link.source : link.target);
      const deviceId =
        deviceOf(address, 'events') ??
        deviceOf(address, 'devicebound') ??
        parseChannelAddress(address)?.deviceId;
      if (deviceId !== undefined && !isCovered(deviceId)) {
        link.close({ condition: UNAUTHORIZED, description: 'the token expired' });
      }
    });
  }

  /**
   * Why this connection may not use the device's links, or undefined when a live token covers it or the
   * connection's TLS client certificate is the device's (X.509 devices skip CBS, reference A2.3).
   */
  #refusal(connection: Connection, deviceId: string): string | undefined {
    if (this.#hasDeviceCertificate(connection, deviceId)) return undefined;
    const nowS = Math.floor(this.#options.now() / 1000);
    for (const { token } of this.#state(connection).tokens.values()) {
      if (checkSasToken(this.#options.registry, token, deviceId, nowS).ok) return undefined;
    }
    return `no live token on this connection and no client certificate covers device ${deviceId}`;
  }

  #settle(delivery: Delivery, outcome: 'complete' | 'reject' | 'abandon'): void {
    const lock = this.#locks.get(delivery);
    if (lock === undefined) return;
    this.#locks.delete(delivery);
    this.#options.c2d[outcome](lock.deviceId, lock.lockToken);
    this.pumpC2d(lock.deviceId);
  }

  #state(connection: Connection): ConnectionState {
    let state = this.#connections.get(connection);
    if (state === undefined) {
      state = { tokens: new Map() };
      this.#connections.set(connection, state);
    }
    return state;
  }

  #dropC2dLink(sender: Sender): void {
    for (const links of this.#c2dLinks.values()) links.delete(sender);
  }

  #forget(connection: Connection): void {
    const state = this.#connections.get(connection);
    for (const { timer } of state?.tokens.values() ?? []) clearTimeout(timer);
    this.#connections.delete(connection);
    this.deviceLinks.drop({ connection });
    for (const links of this.#c2dLinks.values()) {
      for (const link of links) if (link.connection === connection) links.delete(link);
    }
  }
}

/** Accept a link: our attach names the source and target the peer asked for. */
function echoTermini(link: Sender | Receiver): void {
  link.set_source(link.source);
  link.set_target(link.target);
}

function addressOf(terminus: unknown): string {
  const address = (terminus as { address?: unknown } | undefined)?.address;
  return typeof address === 'string' ? address : '';
}

/**
 * The device of `/devices/{id}/messages/{kind}`, relative or absolute (`amqps://host:5671/devices/…`),
 * `devicebound` in either case as the SDKs write it.
 */
function deviceOf(address: string, kind: 'events' | 'devicebound'): string | undefined {
  const path = address.replace(/^amqps?:\/\/[^/]+/, '');
  const match = new RegExp(`^/devices/([^/]+)/messages/${kind}$`, 'i').exec(path);
  return match === null ? undefined : decodeURIComponent(match[1]!);
}

/** The device a token is scoped to, or undefined for a hub-wide (`{host}` or `{host}/devices`) token. */
function tokenDevice(token: string): string | undefined {
  const parsed = parseSasToken(token);
  if (parsed === undefined) return undefined;
  try {
    const [, devices, id] = decodeURIComponent(parsed.srLiteral).split('/');
    return devices === 'devices' && id !== undefined && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}
