import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import rhea, { type Connection, type Delivery, type EventContext, type Message, type Sender } from 'rhea';
import type { AzureUpstreamConfig } from '../../config/upstreams/azure.js';
import { FieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, CommandStatus, Envelope } from '../../model.js';
import { RateLimiter } from '../rate-limiter.js';
import type { CommandHandler, IncomingCommand, SendResult, Upstream, UpstreamLimits } from '../upstream.js';
import { CbsLink, connectionOpened, linkOpened, OutcomeTracker, type Outcome } from './amqp-link.js';
import {
  BATCH_MESSAGE_FORMAT,
  encodeBatch,
  fromPropertyBag,
  toAmqpMessage,
  toPropertyBag,
} from './amqp-message.js';
import type { AzureUpstreamStats } from './azure-mqtt-upstream.js';
import { parseC2dMessage, resultBody } from './commands.js';
import { deviceToken, resolveIdentity, type AzureIdentity } from './credentials.js';
import { BILLING_UNIT_BYTES, encodeD2cBatch, groupIntoBatches } from './encode.js';
import { encodeUriComponentStrict } from './sas.js';
import { readTlsFiles } from './tls-files.js';
import type { StatusSnapshot } from '../../health/status.js';
import { twinFor, type GatewayTwin } from './gateway-twin.js';
import { AmqpMethodsChannel } from './methods-amqp.js';
import { AmqpTwinChannel } from './twin-amqp.js';

export interface AzureAmqpUpstreamOptions {
  config: AzureUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  readFile?: (path: string) => Promise<Buffer>;
  now?: () => number;
  /** The gateway's status; with `twin.enabled` it is reported in the device twin. */
  status?: () => StatusSnapshot;
}

const MAX_COMMAND_BYTES = 64 * 1024;
/** C2D messages the hub may push before we settle one: the hub's queue holds 50 per device anyway. */
const C2D_CREDIT = 10;
/** Settled command ids remembered, so a redelivery after a reconnect is settled the same way unrun. */
const SETTLED_MEMORY = 1000;

/**
 * How a command's result settles its C2D message (reference A4.5): done → accepted (complete), refused or
 * too late → rejected (dead-lettered, never retried); a transient failure is `released` elsewhere.
 */
export const DISPOSITION: Record<CommandStatus, 'accept' | 'reject'> = {
  ok: 'accept',
  failed: 'accept',
  unsupported: 'accept',
  rejected: 'reject',
  expired: 'reject',
};

/**
 * Azure IoT Hub over AMQP 1.0 with the gateway's device identity (reference A4).
 *
 * One TLS connection without SASL; the SAS token goes on the `$cbs` link (put-token) and is put again on
 * that open link `tokenRenewBeforeS` before expiry, so telemetry never stops for a renewal. X.509 skips CBS.
 * Telemetry: every send becomes as few transfers as possible in the hub's batch format (message-format
 * 0x80013700, ≤ 256 KB each), each inner message a full D2C message as over MQTT. C2D arrives on the
 * devicebound receiver and stays unsettled until the command's result decides accepted or rejected; a
 * command nobody could take (no handler) is released for redelivery. Results go up as
 * `fieldgate-type=commandResult` D2C messages.
 */
export class AzureAmqpUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AzureUpstreamConfig;
  readonly #identity: AzureIdentity;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #log: Logger;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  /** Command id → its unsettled C2D delivery. */
  readonly #unsettled = new Map<string, Delivery>();
  readonly #settled = new Map<string, 'accept' | 'reject'>();
  #link:
    | {
        connection: Connection;
        events: Sender;
        outcomes: OutcomeTracker;
        cbs?: CbsLink;
        methods: AmqpMethodsChannel;
      }
    | undefined;
  readonly #twin: GatewayTwin | undefined;
  #handler: CommandHandler | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #isClosed = false;

  constructor(options: AzureAmqpUpstreamOptions) {
    this.#config = options.config;
    this.#identity = resolveIdentity(options.config, options.gatewayId);
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#log = options.log.child({
      component: 'azure-amqp-upstream',
      route: options.route,
      deviceId: this.#identity.deviceId,
    });
    this.#readFile = options.readFile ?? fsReadFile;
    this.#now = options.now ?? Date.now;
    this.limits = {
      maxMessageBytes: options.config.maxMessageBytes,
      maxMessagesPerSecond: options.config.maxMessagesPerSecond,
      billingUnitBytes: BILLING_UNIT_BYTES,
    };
    this.#limiter = new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#twin = twinFor(options, this.#log);
  }

  get isConnected(): boolean {
    return this.#link?.connection.is_open() === true;
  }

  stats(): AzureUpstreamStats {
    return { ...this.#stats };
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  async connect(signal: AbortSignal): Promise<void> {
    if (this.#isClosed) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'The upstream is closed.');
    if (this.isConnected) return;
    this.#drop();
    const { deviceId, hostName } = this.#identity;
    const url = new URL(this.#identity.endpoint);
    const common = {
      host: url.hostname,
      port: Number(url.port || 5671),
      hostname: hostName,
      // No SNI for an IP address (RFC 6066); the certificate is still checked against it.
      servername: isIP(url.hostname) === 0 ? url.hostname : '',
      reconnect: false,
      idle_time_out: this.#config.keepaliveS * 1000,
    };
    const container = rhea.create_container({ id: `${deviceId}-${randomUUID()}` });
    // `amqp://` (no TLS) exists only for a loopback emulator; the hub itself speaks TLS only.
    const connection =
      url.protocol === 'amqp:'
        ? container.connect({ ...common, transport: 'tcp' })
        : container.connect({
            ...common,
            ...(await readTlsFiles(this.#config.tls, this.#readFile)),
            transport: 'tls',
          });
    // rhea throws 'error' and prints 'disconnected' when nobody listens; the forwarder handles both.
    connection.on('error', (e: unknown) => this.#log.debug({ err: e }, 'AMQP connection error.'));
    connection.on('disconnected', () => {
      this.#log.debug('AMQP connection closed.');
      if (this.#link?.connection === connection) this.#drop();
    });
    try {
      await connectionOpened(connection, signal);
      const timeoutMs = this.#config.ackTimeoutMs;
      const cbs = this.#identity.auth.kind === 'sas' ? await CbsLink.open(connection, timeoutMs) : undefined;
      const expiresAtS = await this.#putToken(cbs);
      const events = connection.open_sender({ target: { address: `/devices/${deviceId}/messages/events` } });
      const c2d = connection.open_receiver({
        source: { address: `/devices/${deviceId}/messages/devicebound` },
        autoaccept: false,
        credit_window: C2D_CREDIT,
      });
      c2d.on('message', (context: EventContext) => this.#onC2d(context.message!, context.delivery!));
      await Promise.all([linkOpened(events, timeoutMs), linkOpened(c2d, timeoutMs)]);
      const methods = await AmqpMethodsChannel.open(connection, deviceId, timeoutMs, {
        parse: {
          maxBytes: MAX_COMMAND_BYTES,
          route: this.#route,
          newId: randomUUID,
          timeoutMs: this.#config.methodTimeoutMs,
          now: this.#now,
        },
        handler: () => this.#handler,
      });
      this.#link = {
        connection,
        events,
        outcomes: new OutcomeTracker(events),
        ...(cbs === undefined ? {} : { cbs }),
        methods,
      };
      if (this.#twin !== undefined) void this.#attachTwin(this.#twin, connection);
      if (expiresAtS !== undefined) this.#scheduleRenewal(expiresAtS);
      this.#log.debug({ endpoint: this.#identity.endpoint, hostName }, 'Connected to IoT Hub over AMQP.');
    } catch (e) {
      connection.close();
      throw e;
    }
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    const link = this.#link;
    if (link === undefined || !link.connection.is_open()) return { kind: 'retry', reason: 'offline' };
    const { messages, oversized } = encodeD2cBatch(batch, {
      gatewayId: this.#gatewayId,
      route: this.#route,
      maxMessageBytes: this.limits.maxMessageBytes,
      now: this.#now(),
      encoding: this.#config.encoding,
    });
    const reason = `reading alone exceeds the hub's message limit (${this.limits.maxMessageBytes} bytes)`;
    const rejected = oversized.map((e) => ({ gseq: e.gseq, reason }));
    const acked: number[] = [];
    let failure: string | undefined;
    const outcomes: Promise<void>[] = [];
    for (const transfer of groupIntoBatches(messages)) {
      if (failure !== undefined || !(await this.#paced(transfer.length, signal))) break;
      const delivery = link.events.send(
        encodeBatch(transfer.map(toAmqpMessage)),
        undefined,
        BATCH_MESSAGE_FORMAT,
      );
      outcomes.push(
        link.outcomes.outcome(delivery, this.#config.ackTimeoutMs).then((outcome) => {
          if (outcome.kind === 'refused') {
            failure ??= describe(outcome);
            return;
          }
          for (const message of transfer) {
            for (const item of message.items) acked.push(item.gseq);
            this.#stats.messages += 1;
            this.#stats.readings += message.items.length;
            this.#stats.billedUnits += message.billedUnits;
          }
        }),
      );
    }
    await Promise.all(outcomes);
    if (failure === 'timeout' || failure?.startsWith('amqp:unauthorized-access') === true) this.#drop();
    if (failure !== undefined || signal.aborted) {
      const why = failure ?? 'aborted';
      if (acked.length === 0 && rejected.length === 0) return { kind: 'retry', reason: why };
      return { kind: 'partial', acked, rejected };
    }
    if (rejected.length === 0) return { kind: 'ok' };
    if (acked.length === 0) return { kind: 'reject', reason };
    return { kind: 'partial', acked, rejected };
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#link?.methods.answer(command, result) === true) return;
    const delivery = this.#unsettled.get(command.id);
    this.#unsettled.delete(command.id);
    const disposition = DISPOSITION[result.status];
    if (delivery !== undefined) this.#settle(command.id, delivery, disposition);
    const link = this.#link;
    if (link === undefined || !link.connection.is_open()) {
      this.#log.debug(
        { commandId: command.id },
        'Offline; the result was not sent (the hub has the disposition).',
      );
      return;
    }
    const properties: Record<string, string> = {
      '$.cid': command.id,
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
      'fieldgate-type': 'commandResult',
      ...(command.device === undefined ? {} : { 'fieldgate-device': command.device }),
    };
    const delivery2 = link.events.send(fromPropertyBag(properties, resultBody(command, result)));
    const outcome = await link.outcomes.outcome(delivery2, this.#config.ackTimeoutMs);
    if (outcome.kind === 'refused') {
      this.#log.debug({ commandId: command.id, reason: describe(outcome) }, 'The hub did not take a result.');
    }
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    this.#twin?.detach();
    clearTimeout(this.#renewTimer);
    const link = this.#link;
    this.#link = undefined;
    if (link === undefined) return;
    const closed = new Promise<void>((resolve) => {
      link.connection.once('connection_close', () => resolve());
      link.connection.once('disconnected', () => resolve());
      setTimeout(resolve, this.#config.ackTimeoutMs).unref();
    });
    link.connection.close();
    await closed;
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

  /** Put a fresh token on the CBS link; its expiry, or undefined for X.509. */
  async #putToken(cbs: CbsLink | undefined): Promise<number | undefined> {
    if (cbs === undefined) return undefined;
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#config.tokenTtlS;
    const token = deviceToken(this.#identity, expiresAtS)!;
    // The Node SDK's audience: the token's own `sr`, URL-encoded (reference A4.2).
    const audience = encodeUriComponentStrict(
      `${this.#identity.hostName}/devices/${this.#identity.deviceId}`,
    );
    await cbs.putToken(audience, token, this.#config.ackTimeoutMs);
    return expiresAtS;
  }

  #scheduleRenewal(expiresAtS: number): void {
    clearTimeout(this.#renewTimer);
    const renewInMs = Math.max(0, (expiresAtS - this.#config.tokenRenewBeforeS) * 1000 - this.#now());
    this.#renewTimer = setTimeout(() => void this.#renew(), renewInMs);
    this.#renewTimer.unref();
  }

  async #renew(): Promise<void> {
    const link = this.#link;
    if (link === undefined || this.#isClosed) return;
    try {
      const expiresAtS = await this.#putToken(link.cbs);
      if (expiresAtS !== undefined) this.#scheduleRenewal(expiresAtS);
      this.#log.debug({ expiresAtS }, 'Renewed the SAS token on the open CBS link.');
    } catch (e) {
      this.#log.debug({ err: e }, 'Renewing the SAS token failed; reconnecting.');
      this.#drop();
    }
  }

  #onC2d(message: Message, delivery: Delivery): void {
    const { properties, body } = toPropertyBag(message);
    const incoming: IncomingCommand = parseC2dMessage(properties, body, {
      maxBytes: MAX_COMMAND_BYTES,
      now: this.#now(),
      route: this.#route,
      newId: randomUUID,
    });
    const id = incoming.kind === 'command' ? incoming.command.id : incoming.id;
    const earlier = this.#settled.get(id);
    if (earlier !== undefined) {
      // A redelivery (we settled it on a link that dropped): the router would not run it again anyway.
      this.#settle(id, delivery, earlier);
      return;
    }
    if (this.#handler === undefined) {
      delivery.release();
      return;
    }
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

  /** Twin trouble never stops telemetry: it is logged, and tried again on the next connect. */
  async #attachTwin(twin: GatewayTwin, connection: Connection): Promise<void> {
    const timeoutMs = this.#config.ackTimeoutMs;
    try {
      const channel = await AmqpTwinChannel.open(connection, this.#identity.deviceId, timeoutMs, (patch) =>
        twin.onDesiredPatch(patch),
      );
      if (this.#link?.connection === connection) await twin.attach(channel);
    } catch (e) {
      this.#log.warn({ err: e }, 'Opening the device twin failed; status is reported on the next connect.');
    }
  }

  #drop(): void {
    this.#twin?.detach();
    clearTimeout(this.#renewTimer);
    const link = this.#link;
    this.#link = undefined;
    this.#unsettled.clear();
    link?.outcomes.failAll('connection dropped');
    link?.connection.close();
  }
}

function describe(outcome: Outcome & { kind: 'refused' }): string {
  return outcome.condition === 'timeout' ? 'timeout' : `${outcome.condition}: ${outcome.description}`;
}
