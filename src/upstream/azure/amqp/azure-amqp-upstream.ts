import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import type { Connection, EventContext, Sender } from 'rhea';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import type { GatewayStatus } from '../../upstream.js';
import type { Logger } from '../../../logger.js';
import type { CommandResult, Envelope } from '../../../model.js';
import { RateLimiter } from '../../common/rate-limiter.js';
import type { CommandHandler } from '../../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../../upstream.js';
import { CommandInbox } from '../../common/command-inbox.js';
import { sendResult } from '../../common/send-result.js';
import { AmqpInboundWatch } from '../../inbound/amqp-inbound-watch.js';
import { openHubConnection } from './amqp-connect.js';
import { CbsLink, linkOpened, OutcomeTracker } from './amqp-link.js';
import { fromPropertyBag, toPropertyBag } from '../protocol/amqp-message.js';
import { sendTransfers, type Refusal } from './amqp-transfers.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { C2dDispositions } from '../c2d-dispositions.js';
import { parseC2dMessage, resultBody, resultProperties } from '../commands.js';
import { AzureOperationMeter, meteredTwinChannel } from '../operation-meter.js';
import { azureLimits, type AzureConnectorOptions } from '../connector-options.js';
import { deviceToken, identityResource, resolveIdentity, type AzureIdentity } from '../credentials.js';
import { encodeD2cBatch } from '../encode.js';
import { twinFor, type GatewayTwin } from '../gateway-twin.js';
import { AmqpMethodsChannel } from './methods-amqp.js';
import { encodeUriComponentStrict } from '../protocol/sas.js';
import { identityPath } from '../protocol/topics.js';
import { AmqpTwinChannel } from './twin-amqp.js';
import { MAX_INBOUND_PAYLOAD_BYTES } from '../../inbound/inbound-limits.js';

export interface AzureAmqpUpstreamOptions extends AzureConnectorOptions {
  /** The gateway's status; with `twin.enabled` it is reported in the device twin. */
  status?: () => GatewayStatus;
}

const MAX_COMMAND_BYTES = 64 * 1024;
/** C2D messages the hub may push before we settle one: the hub's queue holds 50 per device anyway. */
const C2D_CREDIT = 10;

/**
 * Azure IoT Hub over AMQP 1.0 with the gateway's device identity
 * (docs/clouds/azure-iot-hub.md#amqp-connection).
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
  /** Cuts a connection whose peer sends frames or messages over our limits; lives across reconnects. */
  #inbound: AmqpInboundWatch | undefined;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  readonly #operations = new AzureOperationMeter();
  readonly #c2d: C2dDispositions;
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
  /** No outbox: offline, the hub keeps the C2D message unsettled and redelivers it. */
  readonly #inbox: CommandInbox;
  #renewTimer: NodeJS.Timeout | undefined;

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
    this.limits = azureLimits(options.config);
    this.#limiter = new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#c2d = new C2dDispositions(this.#log);
    this.#twin = twinFor(options, this.#log);
    this.#inbox = new CommandInbox({ log: this.#log, now: this.#now });
  }

  get isConnected(): boolean {
    return this.#link?.connection.is_open() === true;
  }

  stats(): AzureUpstreamStats {
    const { d2c, ...operations } = this.#operations.operations;
    return {
      ...this.#stats,
      billedUnits: this.#stats.billedUnits + this.#operations.units,
      operations: { d2c: this.#stats.messages + d2c, ...operations },
    };
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    if (this.isConnected) return;
    this.#drop();
    const { deviceId, hostName } = this.#identity;
    const connection = await openHubConnection(
      {
        endpoint: new URL(this.#identity.endpoint),
        hostName,
        containerName: deviceId,
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
      const timeoutMs = this.#config.ackTimeoutMs;
      const cbs = this.#identity.auth.kind === 'sas' ? await CbsLink.open(connection, timeoutMs) : undefined;
      const expiresAtS = await this.#putToken(cbs);
      const path = `/${identityPath(deviceId, this.#identity.moduleId)}`;
      const events = connection.open_sender({ target: { address: `${path}/messages/events` } });
      // A module has no C2D queue (its commands come as direct methods): no devicebound link.
      const c2d =
        this.#identity.moduleId === undefined
          ? connection.open_receiver({
              source: { address: `${path}/messages/devicebound` },
              autoaccept: false,
              credit_window: C2D_CREDIT,
              // Tells the hub our limit (AMQP 1.0 §2.7.3); rhea itself does not enforce it on what arrives.
              max_message_size: MAX_INBOUND_PAYLOAD_BYTES,
            })
          : undefined;
      c2d?.on('message', (context: EventContext) => this.#onC2d(context));
      await Promise.all([
        linkOpened(events, timeoutMs),
        ...(c2d === undefined ? [] : [linkOpened(c2d, timeoutMs)]),
      ]);
      const methods = await AmqpMethodsChannel.open(connection, this.#identity, timeoutMs, {
        parse: {
          maxBytes: MAX_COMMAND_BYTES,
          route: this.#route,
          newId: randomUUID,
          timeoutMs: this.#config.methodTimeoutMs,
          now: this.#now,
        },
        take: (incoming) => this.#inbox.dispatch(incoming),
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
    const refusal = await sendTransfers(link, messages, {
      limiter: this.#limiter,
      ackTimeoutMs: this.#config.ackTimeoutMs,
      signal,
      stats: this.#stats,
      onAccepted: (message) => {
        for (const item of message.items) acked.push(item.gseq);
      },
    });
    const failure = refusal === undefined ? undefined : describe(refusal);
    if (failure === 'timeout' || failure?.startsWith('amqp:unauthorized-access') === true) this.#drop();
    return sendResult({ acked, rejected, failure: failure ?? (signal.aborted ? 'aborted' : undefined) });
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    if (this.#link?.methods.answer(command, result) === true) {
      // The request's size is not kept: it counts its one unit (requests are small, ≤ 128 KB).
      this.#operations.count('method', 0, resultBody(command, result).length);
      return;
    }
    this.#c2d.settle(command.id, result.status);
    const link = this.#link;
    if (link === undefined || !link.connection.is_open()) {
      this.#log.debug(
        { commandId: command.id },
        'Offline; the result was not sent (the hub has the disposition).',
      );
      return;
    }
    const message = fromPropertyBag(resultProperties(command), resultBody(command, result));
    const delivery = link.events.send(message);
    const outcome = await link.outcomes.outcome(delivery, this.#config.ackTimeoutMs);
    // A result goes up as a D2C message, which the hub bills like telemetry.
    if (outcome.kind === 'accepted') this.#operations.count('d2c', resultBody(command, result).length);
    if (outcome.kind === 'refused') {
      this.#log.debug({ commandId: command.id, reason: describe(outcome) }, 'The hub did not take a result.');
    }
  }

  async close(): Promise<void> {
    this.#inbox.close();
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

  /** Put a fresh token on the CBS link; its expiry, or undefined for X.509. */
  async #putToken(cbs: CbsLink | undefined): Promise<number | undefined> {
    if (cbs === undefined) return undefined;
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#config.tokenTtlS;
    const token = deviceToken(this.#identity, expiresAtS)!;
    // The Node SDK's audience: the token's own `sr`, URL-encoded
    // (docs/clouds/azure-iot-hub.md#cbs-put-token).
    const audience = encodeUriComponentStrict(identityResource(this.#identity));
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
    if (link === undefined || this.#inbox.isClosed) return;
    try {
      const expiresAtS = await this.#putToken(link.cbs);
      if (expiresAtS !== undefined) this.#scheduleRenewal(expiresAtS);
      this.#log.debug({ expiresAtS }, 'Renewed the SAS token on the open CBS link.');
    } catch (e) {
      this.#log.debug({ err: e }, 'Renewing the SAS token failed; reconnecting.');
      this.#drop();
    }
  }

  #onC2d(context: EventContext): void {
    const { properties, body } = toPropertyBag(context.message!);
    this.#operations.count('c2d', body.length);
    const incoming = parseC2dMessage(properties, body, {
      maxBytes: MAX_COMMAND_BYTES,
      now: this.#now(),
      route: this.#route,
      newId: randomUUID,
    });
    this.#c2d.receive(incoming, context.delivery!, (i) => this.#inbox.dispatch(i));
  }

  /** Twin trouble never stops telemetry: it is logged, and tried again on the next connect. */
  async #attachTwin(twin: GatewayTwin, connection: Connection): Promise<void> {
    const timeoutMs = this.#config.ackTimeoutMs;
    try {
      const channel = await AmqpTwinChannel.open(connection, this.#identity, timeoutMs, (patch) =>
        twin.onDesiredPatch(patch),
      );
      if (this.#link?.connection === connection)
        await twin.attach(meteredTwinChannel(channel, this.#operations));
    } catch (e) {
      this.#log.warn({ err: e }, 'Opening the device twin failed; status is reported on the next connect.');
    }
  }

  #drop(): void {
    this.#twin?.detach();
    clearTimeout(this.#renewTimer);
    const link = this.#link;
    this.#link = undefined;
    this.#c2d.forgetUnsettled();
    link?.outcomes.failAll('connection dropped');
    link?.connection.close();
  }
}

function describe(outcome: Refusal): string {
  return outcome.condition === 'timeout' ? 'timeout' : `${outcome.condition}: ${outcome.description}`;
}
