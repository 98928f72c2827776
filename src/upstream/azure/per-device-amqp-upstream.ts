import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import rhea, { type Connection, type Delivery, type Message } from 'rhea';
import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import { FieldgateError, isFieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, Envelope } from '../../model.js';
import { RateLimiter } from '../rate-limiter.js';
import type { CommandHandler, SendResult, Upstream, UpstreamLimits } from '../upstream.js';
import { AmqpDeviceSession } from './amqp-device-session.js';
import { CbsLink, connectionOpened } from './amqp-link.js';
import {
  BATCH_MESSAGE_FORMAT,
  encodeBatch,
  fromPropertyBag,
  toAmqpMessage,
  toPropertyBag,
} from './amqp-message.js';
import { DISPOSITION } from './azure-amqp-upstream.js';
import type { AzureUpstreamStats } from './azure-mqtt-upstream.js';
import { parseC2dMessage, resultBody } from './commands.js';
import { BILLING_UNIT_BYTES, encodeD2cBatch, groupIntoBatches } from './encode.js';
import { HeldLeaves, type HeldLeaf } from './held-leaves.js';
import { LeafIdentities } from './leaf-identity.js';
import { PerDeviceSend } from './per-device-send.js';
import { createSasToken, encodeUriComponentStrict } from './sas.js';
import { readTlsFiles } from './tls-files.js';

export interface PerDeviceAmqpUpstreamOptions {
  config: AzureUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  readFile?: (path: string) => Promise<Buffer>;
  now?: () => number;
}

const MAX_COMMAND_BYTES = 64 * 1024;
/** Settled command ids remembered, so a redelivery after a reconnect is settled the same way unrun. */
const SETTLED_MEMORY = 1000;

/**
 * Azure IoT Hub over AMQP with identity translation (`identity: perDevice`, reference A4.8, A8): every
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
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  readonly #sessions = new Map<string, AmqpDeviceSession>();
  /** Command id → its unsettled C2D delivery. */
  readonly #unsettled = new Map<string, Delivery>();
  readonly #settled = new Map<string, 'accept' | 'reject'>();
  #link: { connection: Connection; cbs: CbsLink } | undefined;
  #handler: CommandHandler | undefined;
  #hubTokenTimer: NodeJS.Timeout | undefined;
  #isClosed = false;

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
    this.limits = {
      maxMessageBytes: options.config.maxMessageBytes,
      maxMessagesPerSecond: options.config.maxMessagesPerSecond,
      billingUnitBytes: BILLING_UNIT_BYTES,
    };
    this.#limiter = new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
  }

  get isConnected(): boolean {
    return this.#link?.connection.is_open() === true;
  }

  stats(): AzureUpstreamStats & { heldLeaves: HeldLeaf[] } {
    return { ...this.#stats, heldLeaves: this.#held.list() };
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  async connect(signal: AbortSignal): Promise<void> {
    if (this.#isClosed) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'The upstream is closed.');
    if (this.isConnected) return;
    this.#drop();
    const url = this.#endpoint;
    const common = {
      host: url.hostname,
      port: Number(url.port || 5671),
      hostname: this.#identities.hostName,
      servername: isIP(url.hostname) === 0 ? url.hostname : '',
      reconnect: false,
      idle_time_out: this.#config.keepaliveS * 1000,
    };
    const container = rhea.create_container({ id: `${this.#gatewayId}-${randomUUID()}` });
    const connection =
      url.protocol === 'amqp:'
        ? container.connect({ ...common, transport: 'tcp' })
        : container.connect({
            ...common,
            ...(await readTlsFiles(this.#config.tls, this.#readFile)),
            transport: 'tls',
          });
    connection.on('error', (e: unknown) => this.#log.debug({ err: e }, 'AMQP connection error.'));
    connection.on('disconnected', () => {
      if (this.#link?.connection === connection) this.#drop();
    });
    try {
      await connectionOpened(connection, signal);
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
    this.#log.debug({ endpoint: url.href }, 'Connected to IoT Hub over AMQP (per-device identities).');
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
    const delivery = this.#unsettled.get(command.id);
    this.#unsettled.delete(command.id);
    if (delivery !== undefined) this.#settle(command.id, delivery, DISPOSITION[result.status]);
    const session = command.device === undefined ? undefined : this.#sessions.get(command.device);
    if (session === undefined || !session.isOpen) {
      this.#log.debug({ commandId: command.id }, 'No open session for the leaf; the result was not sent.');
      return;
    }
    const properties: Record<string, string> = {
      '$.cid': command.id,
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
      'fieldgate-type': 'commandResult',
      'fieldgate-device': session.leaf,
    };
    const sent = session.events.send(fromPropertyBag(properties, resultBody(command, result)));
    const outcome = await session.outcomes.outcome(sent, this.#config.ackTimeoutMs);
    if (outcome.kind === 'refused') {
      this.#log.debug({ commandId: command.id, reason: outcome.condition }, 'The hub did not take a result.');
    }
  }

  async close(): Promise<void> {
    this.#isClosed = true;
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
    let failure: string | undefined;
    const outcomes: Promise<void>[] = [];
    for (const transfer of groupIntoBatches(messages)) {
      if (failure !== undefined || !(await this.#paced(transfer.length, signal))) break;
      const delivery = session.events.send(
        encodeBatch(transfer.map(toAmqpMessage)),
        undefined,
        BATCH_MESSAGE_FORMAT,
      );
      outcomes.push(
        session.outcomes.outcome(delivery, this.#config.ackTimeoutMs).then((outcome) => {
          if (outcome.kind === 'refused') {
            failure ??= `${outcome.condition}: ${outcome.description}`;
            return;
          }
          for (const message of transfer) {
            for (const item of message.items) send.ack(item.gseq);
            this.#stats.messages += 1;
            this.#stats.readings += message.items.length;
            this.#stats.billedUnits += message.billedUnits;
          }
        }),
      );
    }
    await Promise.all(outcomes);
    if (failure !== undefined) {
      send.fail(session.leaf, failure);
      // A timeout or a detached link leaves the session unusable; the next send opens a fresh one.
      if (failure.startsWith('timeout') || !session.isOpen) {
        session.close();
        this.#sessions.delete(session.leaf);
      }
    }
  }

  /** Take one rate-limiter slot per message; false when the send was aborted meanwhile. */
  async #paced(messages: number, signal: AbortSignal): Promise<boolean> {
    try {
      for (let i = 0; i < messages; i += 1) await this.#limiter.take(signal);
      return !signal.aborted;
    } catch {
      return false;
    }
  }

  /** With a DeviceConnect policy, one hub-scoped token covers every leaf on it (reference A4.8 SasGrouped). */
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
    const id = incoming.kind === 'command' ? incoming.command.id : incoming.id;
    const earlier = this.#settled.get(id);
    if (earlier !== undefined) return this.#settle(id, delivery, earlier);
    if (this.#handler === undefined) return void delivery.release();
    this.#unsettled.set(id, delivery);
    try {
      this.#handler(incoming);
    } catch (e) {
      this.#log.error({ err: e, commandId: id }, 'The command handler threw; releasing the message.');
      this.#unsettled.delete(id);
      delivery.release();
    }
  }

  #settle(id: string, delivery: Delivery, disposition: 'accept' | 'reject'): void {
    if (disposition === 'accept') delivery.accept();
    else
      delivery.reject({ condition: 'amqp:precondition-failed', description: 'command refused or expired' });
    this.#settled.set(id, disposition);
    if (this.#settled.size > SETTLED_MEMORY) this.#settled.delete(this.#settled.keys().next().value!);
  }

  #drop(): void {
    clearTimeout(this.#hubTokenTimer);
    for (const session of this.#sessions.values()) session.close();
    this.#sessions.clear();
    this.#unsettled.clear();
    const link = this.#link;
    this.#link = undefined;
    link?.connection.close();
  }
}

function resolveEndpoint(config: AzureUpstreamConfig, identities: LeafIdentities): string {
  if (config.tls.certFile !== undefined) {
    // The hub never multiplexes X.509 identities (reference A2.3): one certificate is one device.
    throw new FieldgateError(
      'FG_CONFIG_INVALID',
      'identity: perDevice works with keys, not a client certificate.',
    );
  }
  return identities.endpoint;
}
