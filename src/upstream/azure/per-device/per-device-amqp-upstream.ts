import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import type { Connection, Delivery, Message } from 'rhea';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import { FieldgateError, isFieldgateError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { CommandResult, Envelope } from '../../../model.js';
import { RateLimiter } from '../../common/rate-limiter.js';
import type { CommandHandler } from '../../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../../upstream.js';
import { CommandInbox } from '../../common/command-inbox.js';
import { openHubConnection } from '../amqp/amqp-connect.js';
import { AmqpInboundWatch } from '../../inbound/amqp-inbound-watch.js';
import { AmqpDeviceSession } from './amqp-device-session.js';
import { CbsLink, isConnectionFull } from '../amqp/amqp-link.js';
import { fromPropertyBag, toPropertyBag } from '../protocol/amqp-message.js';
import { sendTransfers } from '../amqp/amqp-transfers.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { C2dDispositions } from '../c2d-dispositions.js';
import { AzureOperationMeter } from '../operation-meter.js';
import { parseC2dMessage, resultBody, resultProperties } from '../commands.js';
import { azureLimits, type AzureConnectorOptions } from '../connector-options.js';
import { encodeD2cBatch } from '../encode.js';
import { HeldLeaves, type HeldLeaf } from './held-leaves.js';
import { LeafIdentities } from './leaf-identity.js';
import { PerDeviceSend } from './per-device-send.js';
import { createSasToken, encodeUriComponentStrict } from '../protocol/sas.js';

export type PerDeviceAmqpUpstreamOptions = AzureConnectorOptions;

const MAX_COMMAND_BYTES = 64 * 1024;
/** Connections tried for one leaf the hub keeps answering 403005 for, before it is held like a refused one. */
const MAX_FULL_ANSWERS = 3;

/** One AMQP connection to the hub, its CBS link, and the leaves whose sessions it carries or is opening. */
interface HubLink {
  connection: Connection;
  cbs: CbsLink;
  leaves: Set<string>;
  /** Leaves it may carry: `maxDevicesPerConnection`, or fewer once the hub answered 403005. */
  capacity: number;
  hubTokenTimer?: NodeJS.Timeout;
}

/**
 * Azure IoT Hub over AMQP with identity translation (`identity: perDevice`,
 * docs/clouds/azure-iot-hub.md#gateway-patterns): every
 * leaf is its own hub device, and they share a TLS connection and its `$cbs` link, each in its own
 * session: at most `maxDevicesPerConnection` leaves on one connection, and fewer when the hub answers
 * 403005 (as many devices as it allows on one); the next leaf then opens another connection. A leaf with its own (or group-derived) key puts its own device-scoped token, renewed on the
 * open CBS link; leaves covered by a DeviceConnect policy share one hub-scoped token put at connect.
 * Sessions open lazily on a leaf's first reading (configured leaves at connect, so their C2D arrives
 * before they send). A C2D message to hub device X is a command for leaf X.
 *
 * A leaf without a usable identity does not hold up the others: see {@link PerDeviceSend}.
 */
export class PerDeviceAmqpUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AzureUpstreamConfig;
  readonly #identities: LeafIdentities;
  readonly #endpoint: URL;
  readonly #held: HeldLeaves;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #log: Logger;
  /** Cuts a connection whose peer sends frames or messages over our limits; lives across reconnects. */
  #inbound: AmqpInboundWatch | undefined;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  readonly #sessions = new Map<string, AmqpDeviceSession>();
  readonly #c2d: C2dDispositions;
  /** C2D deliveries and result messages, as the hub bills them (telemetry is counted in `#stats`). */
  readonly #operations = new AzureOperationMeter();
  /** The open connections; the first one is opened by `connect`, the others when leaves need room. */
  #links: HubLink[] = [];
  /** Another connection being opened for leaves that found no room. */
  #opening: Promise<HubLink> | undefined;
  /** No outbox: offline, the hub keeps the C2D message unsettled and redelivers it. */
  readonly #inbox: CommandInbox;

  constructor(options: PerDeviceAmqpUpstreamOptions) {
    this.#config = options.config;
    this.#identities = new LeafIdentities(options.config);
    this.#endpoint = new URL(resolveEndpoint(options.config, this.#identities));
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#log = options.log.child({
      component: 'azure-amqp-upstream',
      route: options.route,
      identity: 'perDevice',
    });
    this.#readFile = options.readFile ?? fsReadFile;
    this.#now = options.now ?? Date.now;
    this.#held = new HeldLeaves(this.#log, this.#now);
    this.limits = azureLimits(options.config);
    this.#limiter = new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#c2d = new C2dDispositions(this.#log);
    this.#inbox = new CommandInbox({ log: this.#log, now: this.#now });
  }

  get isConnected(): boolean {
    return this.#links[0]?.connection.is_open() === true;
  }

  stats(): AzureUpstreamStats & { heldLeaves: HeldLeaf[] } {
    const { d2c, ...operations } = this.#operations.operations;
    return {
      ...this.#stats,
      billedUnits: this.#stats.billedUnits + this.#operations.units,
      operations: { d2c: this.#stats.messages + d2c, ...operations },
      heldLeaves: this.#held.list(),
    };
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    if (this.isConnected) return;
    this.#drop();
    await this.#openLink(signal);
    // Configured leaves listen for C2D from the start; one the hub refuses is held, not a failed connect.
    for (const leaf of this.#identities.configuredLeaves()) {
      if (!this.isConnected) break;
      await this.#sessionFor(leaf).catch(() => undefined);
    }
    this.#log.debug(
      { endpoint: this.#endpoint.href },
      'Connected to IoT Hub over AMQP (per-device identities).',
    );
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    if (!this.isConnected) return { kind: 'retry', reason: 'offline' };
    const send = new PerDeviceSend(batch);
    await Promise.all(
      send.leaves().map(async (leaf) => {
        const items = send.itemsOf(leaf);
        let session: AmqpDeviceSession | undefined;
        try {
          session = await this.#sessionFor(leaf);
        } catch (e) {
          send.fail(leaf, e instanceof Error ? e.message : String(e));
          return;
        }
        if (session === undefined) return send.hold(leaf);
        await this.#sendLeaf(session, items, send, signal);
      }),
    );
    return send.result();
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    this.#c2d.settle(command.id, result.status);
    const session = command.device === undefined ? undefined : this.#sessions.get(command.device);
    if (session === undefined || !session.isOpen) {
      this.#log.debug({ commandId: command.id }, 'No open session for the leaf; the result was not sent.');
      return;
    }
    const properties = resultProperties({ id: command.id, device: session.leaf });
    const body = resultBody(command, result);
    const sent = session.events.send(fromPropertyBag(properties, body));
    const outcome = await session.outcomes.outcome(sent, this.#config.ackTimeoutMs);
    // A result goes up as a D2C message, which the hub bills like telemetry.
    if (outcome.kind === 'accepted') this.#operations.count('d2c', body.length);
    if (outcome.kind === 'refused') {
      this.#log.debug({ commandId: command.id, reason: outcome.condition }, 'The hub did not take a result.');
    }
  }

  async close(): Promise<void> {
    this.#inbox.close();
    const links = this.#links;
    this.#drop();
    await Promise.all(
      links.map(
        (link) =>
          new Promise<void>((resolve) => {
            link.connection.once('connection_close', () => resolve());
            link.connection.once('disconnected', () => resolve());
            setTimeout(resolve, this.#config.ackTimeoutMs).unref();
          }),
      ),
    );
  }

  /**
   * The leaf's open session, opened now if need be; undefined when the leaf is held (no identity, or
   * refused a short while ago). Rejects when the connection itself failed meanwhile.
   */
  async #sessionFor(leaf: string): Promise<AmqpDeviceSession | undefined> {
    const open = this.#sessions.get(leaf);
    if (open?.isOpen === true) return open;
    open?.close();
    this.#forget(leaf);
    if (this.#held.isHeld(leaf)) return undefined;
    const resolved = this.#identities.resolve(leaf);
    if (resolved.kind === 'none') {
      this.#held.hold(leaf, resolved.reason);
      return undefined;
    }
    for (let fullAnswers = 0; ;) {
      const link = await this.#roomFor(leaf);
      try {
        const session = await AmqpDeviceSession.open({
          connection: link.connection,
          cbs:
            resolved.identity.auth.kind === 'sas' && resolved.identity.auth.policyName !== undefined
              ? undefined
              : link.cbs,
          leaf,
          identity: resolved.identity,
          tokenTtlS: this.#config.tokenTtlS,
          tokenRenewBeforeS: this.#config.tokenRenewBeforeS,
          timeoutMs: this.#config.ackTimeoutMs,
          now: this.#now,
          log: this.#log,
          onC2d: (s, message, delivery) => this.#onC2d(s, message, delivery),
        });
        this.#sessions.set(leaf, session);
        this.#held.release(leaf);
        return session;
      } catch (e) {
        link.leaves.delete(leaf);
        const id = resolved.identity.deviceId;
        if (link.connection.is_open() && isConnectionFull(e)) {
          // 403005: this connection carries as many devices as the hub allows; the leaf goes on another.
          link.capacity = Math.min(link.capacity, link.leaves.size);
          fullAnswers += 1;
          if (fullAnswers < MAX_FULL_ANSWERS) continue;
          const reason = `the hub took no more devices on ${fullAnswers} connections (403005) for device ${id}`;
          this.#held.hold(leaf, reason, this.#config.refusedRetryS * 1000);
          return undefined;
        }
        // A refusal with the connection still up is about this device (unknown, disabled, wrong key).
        if (!link.connection.is_open() || !isFieldgateError(e) || e.code !== 'FG_UPSTREAM_AUTH') throw e;
        this.#held.hold(
          leaf,
          `the hub refused device ${id}: ${e.message}`,
          this.#config.refusedRetryS * 1000,
        );
        return undefined;
      }
    }
  }

  /**
   * A connection with room for one more leaf, the leaf counted on it before this returns: an open one
   * below its capacity, or a new one. Rejects when offline or the new connection fails.
   */
  async #roomFor(leaf: string): Promise<HubLink> {
    for (;;) {
      if (!this.isConnected) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'IoT Hub over AMQP: offline.');
      const link = this.#links.find((l) => l.connection.is_open() && l.leaves.size < l.capacity);
      if (link !== undefined) {
        link.leaves.add(leaf);
        return link;
      }
      this.#opening ??= this.#openLink(new AbortController().signal).finally(() => {
        this.#opening = undefined;
      });
      await this.#opening;
    }
  }

  /** Forget the leaf's session and its place on a connection. */
  #forget(leaf: string): void {
    this.#sessions.delete(leaf);
    for (const link of this.#links) link.leaves.delete(leaf);
  }

  /** Open one more connection with its CBS link (and the policy's hub-scoped token), and keep it. */
  async #openLink(signal: AbortSignal): Promise<HubLink> {
    const connection = await openHubConnection(
      {
        endpoint: this.#endpoint,
        hostName: this.#identities.hostName,
        containerName: this.#gatewayId,
        config: this.#config,
        readFile: this.#readFile,
        log: this.#log,
        inbound: (this.#inbound ??= new AmqpInboundWatch(this.#log)),
        onDisconnected: (closed) => {
          if (this.#links.some((l) => l.connection === closed)) this.#drop();
        },
      },
      signal,
    );
    try {
      const cbs = await CbsLink.open(connection, this.#config.ackTimeoutMs);
      const link: HubLink = {
        connection,
        cbs,
        leaves: new Set(),
        capacity: this.#config.maxDevicesPerConnection,
      };
      await this.#putHubToken(link);
      this.#links.push(link);
      if (this.#links.length > 1) {
        this.#log.info(
          { connections: this.#links.length, leaves: this.#sessions.size },
          'Opened another AMQP connection to IoT Hub: the others carry as many leaves as they may.',
        );
      }
      return link;
    } catch (e) {
      connection.close();
      throw e;
    }
  }

  async #sendLeaf(
    session: AmqpDeviceSession,
    items: readonly Envelope[],
    send: PerDeviceSend,
    signal: AbortSignal,
  ): Promise<void> {
    const { messages, oversized } = encodeD2cBatch(items, {
      gatewayId: this.#gatewayId,
      route: this.#route,
      maxMessageBytes: this.limits.maxMessageBytes,
      now: this.#now(),
      encoding: this.#config.encoding,
    });
    const tooLarge = `reading alone exceeds the hub's message limit (${this.limits.maxMessageBytes} bytes)`;
    for (const e of oversized) send.reject(e.gseq, tooLarge);
    const refusal = await sendTransfers(session, messages, {
      limiter: this.#limiter,
      ackTimeoutMs: this.#config.ackTimeoutMs,
      signal,
      stats: this.#stats,
      onAccepted: (message) => {
        for (const item of message.items) send.ack(item.gseq);
      },
    });
    const failure = refusal === undefined ? undefined : `${refusal.condition}: ${refusal.description}`;
    if (failure !== undefined) {
      send.fail(session.leaf, failure);
      // A timeout or a detached link leaves the session unusable; the next send opens a fresh one.
      if (failure.startsWith('timeout') || !session.isOpen) {
        session.close();
        this.#forget(session.leaf);
      }
    }
  }

  /**
   * With a DeviceConnect policy, one hub-scoped token covers every leaf on the connection (`SasGrouped`,
   * docs/clouds/azure-iot-hub.md#multiplexing-many-devices-on-amqp); renewed on its open CBS link.
   */
  async #putHubToken(link: HubLink): Promise<void> {
    const policy = this.#identities.policy;
    if (policy === undefined) return;
    const hostName = this.#identities.hostName;
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#config.tokenTtlS;
    const token = createSasToken({ resourceUri: hostName, expiresAtS, ...policy });
    await link.cbs.putToken(encodeUriComponentStrict(hostName), token, this.#config.ackTimeoutMs);
    const renewInMs = Math.max(0, (expiresAtS - this.#config.tokenRenewBeforeS) * 1000 - this.#now());
    clearTimeout(link.hubTokenTimer);
    link.hubTokenTimer = setTimeout(() => {
      this.#putHubToken(link).catch((e: unknown) => {
        this.#log.debug({ err: e }, 'Renewing the hub-scoped token failed; reconnecting.');
        this.#drop();
      });
    }, renewInMs);
    link.hubTokenTimer.unref();
  }

  #onC2d(session: AmqpDeviceSession, message: Message, delivery: Delivery): void {
    const { properties, body } = toPropertyBag(message);
    this.#operations.count('c2d', body.length);
    // The hub device the message came to names the leaf; a body naming another device is refused.
    const incoming = parseC2dMessage({ ...properties, 'fieldgate-device': session.leaf }, body, {
      maxBytes: MAX_COMMAND_BYTES,
      now: this.#now(),
      route: this.#route,
      newId: randomUUID,
    });
    this.#c2d.receive(incoming, delivery, (i) => this.#inbox.dispatch(i));
  }

  #drop(): void {
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
    this.#c2d.forgetUnsettled();
    const links = this.#links;
    this.#links = [];
    for (const link of links) {
      clearTimeout(link.hubTokenTimer);
      link.connection.close();
    }
  }
}

function resolveEndpoint(config: AzureUpstreamConfig, identities: LeafIdentities): string {
  if (config.tls.certFile !== undefined) {
    // The hub never multiplexes X.509 identities (docs/clouds/azure-iot-hub.md#x509): one certificate is one
    // device.
    throw new FieldgateError(
      'FG_CONFIG_INVALID',
      'identity: perDevice works with keys, not a client certificate.',
    );
  }
  return identities.endpoint;
}
