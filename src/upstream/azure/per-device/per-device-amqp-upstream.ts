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
import { CbsLink } from '../amqp/amqp-link.js';
import { fromPropertyBag, toPropertyBag } from '../protocol/amqp-message.js';
import { sendTransfers } from '../amqp/amqp-transfers.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { C2dDispositions } from '../c2d-dispositions.js';
import { parseC2dMessage, resultBody, resultProperties } from '../commands.js';
import { azureLimits, type AzureConnectorOptions } from '../connector-options.js';
import { encodeD2cBatch } from '../encode.js';
import { HeldLeaves, type HeldLeaf } from './held-leaves.js';
import { LeafIdentities } from './leaf-identity.js';
import { PerDeviceSend } from './per-device-send.js';
import { createSasToken, encodeUriComponentStrict } from '../protocol/sas.js';

export type PerDeviceAmqpUpstreamOptions = AzureConnectorOptions;

const MAX_COMMAND_BYTES = 64 * 1024;

/**
 * Azure IoT Hub over AMQP with identity translation (`identity: perDevice`,
 * docs/clouds/azure-iot-hub.md#gateway-patterns): every
 * leaf is its own hub device, and all of them share ONE TLS connection and its `$cbs` link, each in its
 * own session. A leaf with its own (or group-derived) key puts its own device-scoped token, renewed on the
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
  #link: { connection: Connection; cbs: CbsLink } | undefined;
  /** No outbox: offline, the hub keeps the C2D message unsettled and redelivers it. */
  readonly #inbox: CommandInbox;
  #hubTokenTimer: NodeJS.Timeout | undefined;

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
    return this.#link?.connection.is_open() === true;
  }

  stats(): AzureUpstreamStats & { heldLeaves: HeldLeaf[] } {
    return { ...this.#stats, heldLeaves: this.#held.list() };
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    if (this.isConnected) return;
    this.#drop();
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
          if (this.#link?.connection === closed) this.#drop();
        },
      },
      signal,
    );
    try {
      const cbs = await CbsLink.open(connection, this.#config.ackTimeoutMs);
      this.#link = { connection, cbs };
      await this.#putHubToken();
    } catch (e) {
      this.#link = undefined;
      connection.close();
      throw e;
    }
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
    const sent = session.events.send(fromPropertyBag(properties, resultBody(command, result)));
    const outcome = await session.outcomes.outcome(sent, this.#config.ackTimeoutMs);
    if (outcome.kind === 'refused') {
      this.#log.debug({ commandId: command.id, reason: outcome.condition }, 'The hub did not take a result.');
    }
  }

  async close(): Promise<void> {
    this.#inbox.close();
    const link = this.#link;
    this.#drop();
    if (link === undefined) return;
    await new Promise<void>((resolve) => {
      link.connection.once('connection_close', () => resolve());
      link.connection.once('disconnected', () => resolve());
      setTimeout(resolve, this.#config.ackTimeoutMs).unref();
    });
  }

  /**
   * The leaf's open session, opened now if need be; undefined when the leaf is held (no identity, or
   * refused a short while ago). Rejects when the connection itself failed meanwhile.
   */
  async #sessionFor(leaf: string): Promise<AmqpDeviceSession | undefined> {
    const open = this.#sessions.get(leaf);
    if (open?.isOpen === true) return open;
    open?.close();
    this.#sessions.delete(leaf);
    if (this.#held.isHeld(leaf)) return undefined;
    const resolved = this.#identities.resolve(leaf);
    if (resolved.kind === 'none') {
      this.#held.hold(leaf, resolved.reason);
      return undefined;
    }
    const link = this.#link;
    if (link === undefined) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'IoT Hub over AMQP: offline.');
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
      // A refusal with the connection still up is about this device (unknown, disabled, wrong key).
      if (!link.connection.is_open() || !isFieldgateError(e) || e.code !== 'FG_UPSTREAM_AUTH') throw e;
      const id = resolved.identity.deviceId;
      this.#held.hold(leaf, `the hub refused device ${id}: ${e.message}`, this.#config.refusedRetryS * 1000);
      return undefined;
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
        this.#sessions.delete(session.leaf);
      }
    }
  }

  /**
   * With a DeviceConnect policy, one hub-scoped token covers every leaf on it (`SasGrouped`,
   * docs/clouds/azure-iot-hub.md#multiplexing-many-devices-on-amqp).
   */
  async #putHubToken(): Promise<void> {
    const policy = this.#identities.policy;
    const link = this.#link;
    if (policy === undefined || link === undefined) return;
    const hostName = this.#identities.hostName;
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#config.tokenTtlS;
    const token = createSasToken({ resourceUri: hostName, expiresAtS, ...policy });
    await link.cbs.putToken(encodeUriComponentStrict(hostName), token, this.#config.ackTimeoutMs);
    const renewInMs = Math.max(0, (expiresAtS - this.#config.tokenRenewBeforeS) * 1000 - this.#now());
    clearTimeout(this.#hubTokenTimer);
    this.#hubTokenTimer = setTimeout(() => {
      this.#putHubToken().catch((e: unknown) => {
        this.#log.debug({ err: e }, 'Renewing the hub-scoped token failed; reconnecting.');
        this.#drop();
      });
    }, renewInMs);
    this.#hubTokenTimer.unref();
  }

  #onC2d(session: AmqpDeviceSession, message: Message, delivery: Delivery): void {
    const { properties, body } = toPropertyBag(message);
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
    clearTimeout(this.#hubTokenTimer);
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
    this.#c2d.forgetUnsettled();
    const link = this.#link;
    this.#link = undefined;
    link?.connection.close();
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
