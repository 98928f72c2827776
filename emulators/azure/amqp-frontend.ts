import { once } from 'node:events';
import type { Server, Socket } from 'node:net';
import rhea, { type Connection, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { parseChannelAddress } from '../../src/upstream/azure/protocol/amqp-device-channels.js';
import {
  BATCH_MESSAGE_FORMAT,
  decodeBatch,
  toPropertyBag,
} from '../../src/upstream/azure/protocol/amqp-message.js';
import { settleAlone } from '../../src/upstream/azure/protocol/amqp-settle.js';
import { MAX_BATCH_BYTES } from '../../src/upstream/azure/protocol/limits.js';
import { AmqpC2dLinks } from './amqp-c2d-links.js';
import { CbsTokens, TOKENS_EXCEEDED } from './amqp-cbs.js';
import { AmqpDeviceLinks } from './amqp-device-links.js';
import { addressOf, deviceOf, echoTermini, isModule } from './amqp-terminus.js';
import { messageSizeBytes, stampD2c } from './d2c-record.js';
import type { HubServices, ListenOptions } from './front-end-options.js';
import type { TwinStore } from './twin-store.js';
import { certificateMatchesDevice } from './x509-check.js';

/** The AMQP front end's options; the hub itself listens on 5671. */
export interface AmqpFrontEndOptions extends HubServices, ListenOptions {
  /** Device twins served on `/devices/{id}/twin`; without them twin requests get 501. */
  twins?: TwinStore;
  /** Devices one connection may carry (tokens and devices with links); past it 403005. Default 999. */
  maxDevicesPerConnection?: number;
}

/** The hub's limit on devices multiplexed on one connection (docs/clouds/azure-iot-hub.md#cbs-put-token). */
const MAX_DEVICES_PER_CONNECTION = 999;

const UNAUTHORIZED = 'amqp:unauthorized-access';
const RESOURCE_LIMIT = 'amqp:resource-limit-exceeded';

/**
 * IoT Hub's AMQP 1.0 front end on rhea (docs/clouds/azure-iot-hub.md#amqp-connection). Accepts TLS (or plain
 * TCP locally) with no
 * SASL or SASL ANONYMOUS; answers CBS `put-token` on `$cbs` (`CbsTokens`); attaches
 * `/devices/{id}/messages/events`, `/devices/{id}/messages/devicebound` and the twin and method channels
 * only for devices a live token on that connection covers (or whose registered certificate the TLS
 * client presented: X.509, no CBS), and detaches them with `amqp:unauthorized-access` when that token
 * expires unrenewed. D2C transfers, single or in the hub's batch format, are size-checked, metered and
 * recorded; C2D goes out on the devicebound links (`AmqpC2dLinks`), twins and methods on their channels
 * (`AmqpDeviceLinks`).
 */
export class AmqpFrontEnd {
  readonly port: number;
  /** Twin and direct-method channels of the devices on this front end. */
  readonly deviceLinks: AmqpDeviceLinks;
  readonly #options: AmqpFrontEndOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<Connection>();
  readonly #cbs: CbsTokens;
  readonly #c2dLinks: AmqpC2dLinks;

  private constructor(options: AmqpFrontEndOptions, server: Server, port: number) {
    this.#options = options;
    this.#server = server;
    this.port = port;
    this.deviceLinks = new AmqpDeviceLinks({
      log: options.log,
      ...(options.twins ? { twins: options.twins } : {}),
    });
    this.#c2dLinks = new AmqpC2dLinks(options.c2d);
    this.#cbs = new CbsTokens({
      registry: options.registry,
      log: options.log,
      now: options.now,
      onExpired: (connection) => this.#detachUncovered(connection),
      ...(options.maxDevicesPerConnection === undefined
        ? {}
        : { maxTokensPerConnection: options.maxDevicesPerConnection }),
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
    const c2dLinks = frontEnd.#c2dLinks;
    container.on('connection_open', (c: EventContext) => {
      frontEnd.#connections.add(c.connection);
      frontEnd.#cbs.open(c.connection);
    });
    container.on('disconnected', (c: EventContext) => frontEnd.#forget(c.connection));
    container.on('connection_close', (c: EventContext) => frontEnd.#forget(c.connection));
    container.on('receiver_open', (c: EventContext) => frontEnd.#onReceiverOpen(c.connection, c.receiver!));
    container.on('sender_open', (c: EventContext) => frontEnd.#onSenderOpen(c.connection, c.sender!));
    container.on('sender_close', (c: EventContext) => {
      c2dLinks.drop({ sender: c.sender! });
      frontEnd.deviceLinks.drop({ sender: c.sender! });
    });
    container.on('message', (c: EventContext) => frontEnd.#onMessage(c));
    container.on('sendable', (c: EventContext) => frontEnd.#onSendable(c.sender!));
    container.on('accepted', (c: EventContext) => c2dLinks.settle(c.delivery!, 'complete'));
    container.on('rejected', (c: EventContext) => c2dLinks.settle(c.delivery!, 'reject'));
    container.on('released', (c: EventContext) => c2dLinks.settle(c.delivery!, 'abandon'));
    container.on('modified', (c: EventContext) => c2dLinks.settle(c.delivery!, 'abandon'));
    container.on('error', (e: unknown) => options.log.debug({ err: e }, 'AMQP connection error.'));
    return frontEnd;
  }

  /** Hand queued C2D messages to the device's devicebound links while they have credit. */
  pumpC2d(deviceId: string): void {
    this.#c2dLinks.pump(deviceId);
  }

  isConnected(deviceId: string): boolean {
    // A module has no C2D link; its method link says it is there.
    return (
      this.#c2dLinks.isConnected(deviceId) || (isModule(deviceId) && this.deviceLinks.hasMethods(deviceId))
    );
  }

  /** Drop every connection (an outage, for tests). */
  disconnectAll(): void {
    // Forget the links now, not when rhea reports the close later: a C2D message queued in between
    // would otherwise go out on a dead link and stay locked for the hub's 60 s.
    for (const connection of [...this.#connections]) this.#forget(connection);
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
    if (deviceId !== undefined && this.#isFull(connection, deviceId)) {
      receiver.close({ condition: RESOURCE_LIMIT, description: TOKENS_EXCEEDED });
      return;
    }
    echoTermini(receiver);
    receiver.add_credit(100);
  }

  #onSenderOpen(connection: Connection, sender: Sender): void {
    const address = addressOf(sender.source);
    if (address === '$cbs') {
      echoTermini(sender);
      this.#cbs.setReplyLink(connection, sender);
      return;
    }
    const channel = parseChannelAddress(address);
    const c2dDevice = deviceOf(address, 'devicebound');
    // A module has no C2D queue (its commands come as direct methods).
    const deviceId =
      channel?.deviceId ?? (c2dDevice !== undefined && isModule(c2dDevice) ? undefined : c2dDevice);
    const refusal =
      deviceId === undefined ? `no such address ${address}` : this.#refusal(connection, deviceId);
    if (refusal !== undefined || deviceId === undefined) {
      sender.close({ condition: UNAUTHORIZED, description: refusal ?? 'refused' });
      return;
    }
    if (this.#isFull(connection, deviceId)) {
      sender.close({ condition: RESOURCE_LIMIT, description: TOKENS_EXCEEDED });
      return;
    }
    echoTermini(sender);
    if (channel !== undefined) this.deviceLinks.addOutbound(sender, channel.deviceId, channel.kind);
    else this.#c2dLinks.add(deviceId, sender);
  }

  #onSendable(sender: Sender): void {
    const deviceId = deviceOf(addressOf(sender.source), 'devicebound');
    if (deviceId !== undefined) this.#c2dLinks.pump(deviceId);
  }

  /**
   * Every transfer is settled with its own outcome, written alone (`settleAlone`): with rhea's merged
   * ranges a refused transfer next to an accepted one would be reported accepted and never recorded.
   */
  #onMessage(context: EventContext): void {
    const delivery = context.delivery!;
    settleAlone(delivery, () => this.#takeMessage(context));
  }

  /** Act on one transfer and settle it (exactly once, or not at all when it came pre-settled). */
  #takeMessage(context: EventContext): void {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const address = addressOf(receiver.target);
    if (address === '$cbs') {
      delivery.accept();
      this.#cbs.putToken(context.connection, context.message!);
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
    const { admission, delayMs } = this.#options.meter.shape(decoded.map((m) => m.sizeBytes));
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
    const authMethod = this.#hasDeviceCertificate(context.connection, deviceId) ? 'x509' : 'sas';
    const accept = (): void => {
      const now = this.#options.now();
      for (const m of decoded) this.#options.onD2c(stampD2c({ deviceId, authMethod, ...m }, now));
      delivery.accept();
    };
    // Traffic shaping: above the rate the hub settles late instead of refusing.
    if (delayMs > 0) setTimeout(accept, delayMs);
    else accept();
  }

  #hasDeviceCertificate(connection: Connection, deviceId: string): boolean {
    return certificateMatchesDevice(this.#options.registry, deviceId, connection.get_peer_certificate());
  }

  /** A token ran out unrenewed: detach the links of every device no other token covers. */
  #detachUncovered(connection: Connection): void {
    connection.each_link((link: Sender | Receiver) => {
      const address = addressOf(link.is_sender() ? link.source : link.target);
      const deviceId =
        deviceOf(address, 'events') ??
        deviceOf(address, 'devicebound') ??
        parseChannelAddress(address)?.deviceId;
      if (deviceId !== undefined && this.#refusal(connection, deviceId) !== undefined) {
        link.close({ condition: UNAUTHORIZED, description: 'the token expired' });
      }
    });
  }

  /**
   * Why this connection may not use the device's links, or undefined when a live token covers it or the
   * connection's TLS client certificate is the device's (X.509 devices skip CBS,
   * docs/clouds/azure-iot-hub.md#x509).
   */
  #refusal(connection: Connection, deviceId: string): string | undefined {
    if (this.#hasDeviceCertificate(connection, deviceId) || this.#cbs.covers(connection, deviceId)) {
      return undefined;
    }
    return `no live token on this connection and no client certificate covers device ${deviceId}`;
  }

  /**
   * Whether the connection already carries as many other devices as it may (a hub-scoped policy token
   * covers any number of them, so the limit is also kept on the devices with links).
   */
  #isFull(connection: Connection, deviceId: string): boolean {
    const devices = new Set<string>();
    connection.each_link((link: Sender | Receiver) => {
      // Links the hub refused or a peer detached are no longer the device's.
      if (link.is_itself_closed() || !link.is_remote_open()) return;
      const address = addressOf(link.is_sender() ? link.source : link.target);
      const id =
        deviceOf(address, 'events') ??
        deviceOf(address, 'devicebound') ??
        parseChannelAddress(address)?.deviceId;
      if (id !== undefined) devices.add(id);
    });
    devices.delete(deviceId);
    return devices.size >= (this.#options.maxDevicesPerConnection ?? MAX_DEVICES_PER_CONNECTION);
  }

  #forget(connection: Connection): void {
    this.#connections.delete(connection);
    this.#cbs.forget(connection);
    this.deviceLinks.drop({ connection });
    this.#c2dLinks.drop({ connection });
  }
}
