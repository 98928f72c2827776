import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import { FieldgateError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { CommandResult, CommandStatus, Envelope } from '../../../model.js';
import { RateLimiter } from '../../common/rate-limiter.js';
import { incomingId, type CommandHandler } from '../../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../../upstream.js';
import { CommandInbox } from '../../common/command-inbox.js';
import { sendResult } from '../../common/send-result.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { parseC2dMessage, resultBody, resultProperties } from '../commands.js';
import { AzureOperationMeter } from '../operation-meter.js';
import { azureLimits, type AzureConnectorOptions } from '../connector-options.js';
import { deviceToken, resolveIdentity, type AzureIdentity } from '../credentials.js';
import { encodeD2cBatch, type D2cBatch, type D2cMessage } from '../encode.js';
import { HttpsClient, type HttpReply } from './https-client.js';
import {
  BATCH_CONTENT_TYPE,
  encodeBatchBody,
  fromHttpProperties,
  groupBatchBodies,
  MAX_BATCH_BODY_BYTES,
} from '../protocol/http-message.js';
import { readTlsFiles } from '../../common/tls-files.js';
import { API_VERSION } from '../protocol/topics.js';

export interface AzureHttpsUpstreamOptions extends AzureConnectorOptions {
  /** Speak as this device instead of the gateway's own (`identity: perDevice`: one of these per leaf). */
  identity?: AzureIdentity;
  /** The leaf this device is: a C2D message to it is a command for this leaf. */
  leaf?: string;
  /** Pacing shared with other devices of the same route; default one of its own. */
  limiter?: RateLimiter;
  /** Added once to the wait before the second C2D poll, so many devices' polls spread over the interval. */
  pollOffsetMs?: number;
}

const MAX_COMMAND_BYTES = 64 * 1024;
/** Room in a batch body for one message's JSON entry, property names and values, beside its base64 body. */
const BATCH_ENTRY_RESERVE_BYTES = 4096;

/**
 * How a result ends its C2D message: done → complete, refused or too late → reject
 * (docs/clouds/azure-iot-hub.md#c2d-settlement).
 */
const SETTLEMENT: Record<CommandStatus, 'complete' | 'reject'> = {
  ok: 'complete',
  failed: 'complete',
  unsupported: 'complete',
  rejected: 'reject',
  expired: 'reject',
};

/**
 * Azure IoT Hub over HTTPS with the gateway's device identity (docs/clouds/azure-iot-hub.md#https): for
 * gateways whose network
 * allows only outbound HTTPS. No connection to keep: every request carries a SAS `Authorization` header
 * (reused until `tokenRenewBeforeS` before it expires) or the X.509 client certificate. Telemetry goes as
 * batches (`application/vnd.microsoft.iothub.json`, each request body ≤ 255 KiB − 1 serialized, bodies
 * base64) of the same D2C messages as over MQTT; a batch the hub refuses as too large (413) is sent in
 * halves, and a single reading it refuses is dead-lettered.
 * C2D is polled every `c2dPollIntervalS` (the hub asks for no more than once per 25 min per device), each
 * message locked until its command's result completes or rejects it by its lock token; a message nobody
 * could take is abandoned. Direct methods do not exist over HTTPS.
 */
export class AzureHttpsUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AzureUpstreamConfig;
  readonly #identity: AzureIdentity;
  readonly #leaf: string | undefined;
  readonly #pollOffsetMs: number;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #log: Logger;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  readonly #operations = new AzureOperationMeter();
  /** Command id → lock token of its C2D message. */
  readonly #locks = new Map<string, string>();
  #client: HttpsClient | undefined;
  #token: { value: string; renewAtMs: number } | undefined;
  /** No outbox: offline, the hub keeps the C2D message locked, then delivers it again. */
  readonly #inbox: CommandInbox;
  #pollTimer: NodeJS.Timeout | undefined;
  #isConnected = false;

  constructor(options: AzureHttpsUpstreamOptions) {
    this.#config = options.config;
    this.#identity = options.identity ?? resolveIdentity(options.config, options.gatewayId);
    this.#leaf = options.leaf;
    this.#pollOffsetMs = options.pollOffsetMs ?? 0;
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#log = options.log.child({
      component: 'azure-https-upstream',
      route: options.route,
      deviceId: this.#identity.deviceId,
    });
    this.#readFile = options.readFile ?? fsReadFile;
    this.#now = options.now ?? Date.now;
    this.limits = azureLimits(options.config);
    this.#limiter = options.limiter ?? new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#inbox = new CommandInbox({ log: this.#log, now: this.#now });
  }

  /** True after a request reached the hub and until a send or poll fails for the network or auth. */
  get isConnected(): boolean {
    return this.#isConnected;
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

  /** Proves the hub is reachable and takes our credentials with a first C2D poll, then keeps polling. */
  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    this.#client ??= new HttpsClient(
      this.#identity.endpoint,
      await readTlsFiles(this.#config.tls, this.#readFile),
    );
    let reply: HttpReply;
    try {
      reply = await this.#request('GET', this.#c2dPath(''), undefined, {}, signal);
    } catch (e) {
      throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'IoT Hub is not reachable over HTTPS.', { cause: e });
    }
    if (reply.status === 401) {
      throw new FieldgateError('FG_UPSTREAM_AUTH', 'The hub refused our credentials (401).', {
        context: { status: 401 },
      });
    }
    if (reply.status !== 200 && reply.status !== 204) {
      throw new FieldgateError('FG_UPSTREAM_OFFLINE', `The hub answered ${reply.status}.`, {
        context: { status: reply.status },
      });
    }
    this.#isConnected = true;
    this.#onC2d(reply);
    this.#schedulePoll(reply.status === 200 ? 0 : this.#config.c2dPollIntervalS * 1000 + this.#pollOffsetMs);
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    if (!this.#isConnected) return { kind: 'retry', reason: 'offline' };
    const { messages, oversized } = this.#encode(batch);
    const reason = `reading alone exceeds the hub's message limit (${this.#messageBytes} bytes over HTTPS)`;
    const rejected = oversized.map((e) => ({ gseq: e.gseq, reason }));
    const acked: number[] = [];
    // One request at a time: the next batch goes only once the hub took the previous one, so a refusal
    // leaves exactly the unsent readings to retry, in order.
    const bodies = groupBatchBodies(messages);
    for (let transfer = bodies.shift(); transfer !== undefined; transfer = bodies.shift()) {
      const { failure, status } = await this.#post(encodeBatchBody(transfer), transfer.length, signal);
      if (status === 413) {
        // Too large for the hub after all: send it in halves; a single reading it refuses is dead-lettered.
        const halves = this.#halve(transfer);
        if (halves !== undefined) {
          bodies.unshift(...halves);
          continue;
        }
        const refused = `the hub refused the reading as too large (413) over HTTPS`;
        for (const item of transfer[0]!.items) rejected.push({ gseq: item.gseq, reason: refused });
        continue;
      }
      if (failure !== undefined) return sendResult({ acked, rejected, failure });
      for (const message of transfer) {
        for (const item of message.items) acked.push(item.gseq);
        this.#stats.messages += 1;
        this.#stats.readings += message.items.length;
        this.#stats.billedUnits += message.billedUnits;
      }
    }
    return sendResult({ acked, rejected });
  }

  /**
   * D2C messages small enough that each fits a batch body alone once base64-encoded (3 bytes become 4),
   * with room for its JSON entry and properties.
   */
  #encode(batch: readonly Envelope[]): D2cBatch {
    return encodeD2cBatch(batch, {
      gatewayId: this.#gatewayId,
      route: this.#route,
      maxMessageBytes: this.#messageBytes,
      now: this.#now(),
      encoding: this.#config.encoding,
    });
  }

  get #messageBytes(): number {
    return Math.min(
      this.limits.maxMessageBytes,
      Math.floor(((MAX_BATCH_BODY_BYTES - BATCH_ENTRY_RESERVE_BYTES) * 3) / 4),
    );
  }

  /** A refused batch in two, in order: its messages, or else the readings of its one message; undefined for one reading. */
  #halve(transfer: readonly D2cMessage[]): D2cMessage[][] | undefined {
    if (transfer.length > 1) {
      const middle = Math.ceil(transfer.length / 2);
      return [transfer.slice(0, middle), transfer.slice(middle)];
    }
    const items = transfer[0]!.items;
    if (items.length < 2) return undefined;
    const middle = Math.ceil(items.length / 2);
    return [items.slice(0, middle), items.slice(middle)].map((half) => this.#encode(half).messages);
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    const lockToken = this.#locks.get(command.id);
    this.#locks.delete(command.id);
    const live = new AbortController().signal;
    try {
      if (lockToken !== undefined) await this.#settle(lockToken, SETTLEMENT[result.status]);
      const properties = resultProperties(command);
      const { failure } = await this.#post(
        encodeBatchBody([{ body: resultBody(command, result), properties }]),
        1,
        live,
      );
      // A result goes up as a D2C message, which the hub bills like telemetry.
      if (failure === undefined) this.#operations.count('d2c', resultBody(command, result).length);
      if (failure !== undefined)
        this.#log.debug({ commandId: command.id, failure }, 'The hub did not take a result.');
    } catch (e) {
      this.#log.debug({ err: e, commandId: command.id }, 'Reporting a result failed.');
    }
  }

  close(): Promise<void> {
    this.#inbox.close();
    this.#isConnected = false;
    clearTimeout(this.#pollTimer);
    return Promise.resolve();
  }

  /** POST one batch body; no failure when the hub took it, else why not (and its status, if it answered). */
  async #post(
    body: Buffer,
    messages: number,
    signal: AbortSignal,
  ): Promise<{ failure?: string; status?: number }> {
    try {
      for (let i = 0; i < messages; i += 1) await this.#limiter.take(signal);
      const headers = { 'content-type': BATCH_CONTENT_TYPE };
      const path = `/devices/${encodeURIComponent(this.#identity.deviceId)}/messages/events?api-version=${API_VERSION}`;
      const reply = await this.#request('POST', path, body, headers, signal);
      if (reply.status === 204 || reply.status === 200) return {};
      if (reply.status === 401) this.#isConnected = false;
      return {
        failure: `the hub answered ${reply.status}${statusMeaning(reply.status)}`,
        status: reply.status,
      };
    } catch (e) {
      if (!signal.aborted) this.#isConnected = false;
      return {
        failure: signal.aborted ? 'aborted' : `request failed: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }

  #schedulePoll(inMs: number): void {
    clearTimeout(this.#pollTimer);
    if (this.#inbox.isClosed) return;
    this.#pollTimer = setTimeout(() => void this.#poll(), inMs);
    this.#pollTimer.unref();
  }

  async #poll(): Promise<void> {
    let again = this.#config.c2dPollIntervalS * 1000;
    try {
      const reply = await this.#request(
        'GET',
        this.#c2dPath(''),
        undefined,
        {},
        new AbortController().signal,
      );
      // A message may have company: ask again at once until the queue answers 204.
      if (reply.status === 200) again = 0;
      this.#onC2d(reply);
      if (reply.status === 401) this.#isConnected = false;
    } catch (e) {
      // The hub is unreachable: say so, so the forwarder reconnects (the connect is a poll) rather than
      // sending into a void.
      this.#isConnected = false;
      this.#log.debug({ err: e }, 'Polling for C2D messages failed; trying again at the next poll.');
    }
    this.#schedulePoll(again);
  }

  #onC2d(reply: HttpReply): void {
    if (reply.status !== 200) return;
    this.#operations.count('c2d', reply.oversizeBytes ?? reply.body.length);
    const lockToken = String(reply.headers.etag ?? '').replace(/"/g, '');
    const properties = fromHttpProperties(reply.headers);
    // A leaf's own device: the device polled names the leaf (a body naming another one is refused).
    if (this.#leaf !== undefined) properties['fieldgate-device'] = this.#leaf;
    const incoming = parseC2dMessage(properties, reply.body, {
      maxBytes: MAX_COMMAND_BYTES,
      now: this.#now(),
      route: this.#route,
      newId: randomUUID,
      ...(reply.oversizeBytes === undefined ? {} : { oversizeBytes: reply.oversizeBytes }),
    });
    const id = incomingId(incoming);
    this.#locks.set(id, lockToken);
    if (this.#inbox.dispatch(incoming)) return;
    // Nobody took it: the hub delivers it again (to the next poll) instead of waiting out the lock.
    this.#locks.delete(id);
    void this.#settle(lockToken, 'abandon').catch(() => undefined);
  }

  /** Complete, reject or abandon a C2D message by its lock token; 412 means the lock ran out meanwhile. */
  async #settle(lockToken: string, how: 'complete' | 'reject' | 'abandon'): Promise<void> {
    const live = new AbortController().signal;
    const headers = { 'if-match': `"${lockToken}"` };
    const reply =
      how === 'abandon'
        ? await this.#request('POST', this.#c2dPath(`/${lockToken}/abandon`), undefined, headers, live)
        : await this.#request(
            'DELETE',
            this.#c2dPath(`/${lockToken}`, how === 'reject'),
            undefined,
            headers,
            live,
          );
    if (reply.status !== 204)
      this.#log.debug({ lockToken, status: reply.status, how }, 'The hub did not settle a C2D message.');
  }

  #c2dPath(suffix: string, isReject = false): string {
    const device = encodeURIComponent(this.#identity.deviceId);
    return `/devices/${device}/messages/devicebound${suffix}?api-version=${API_VERSION}${isReject ? '&reject' : ''}`;
  }

  #request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpReply> {
    const token = this.#authorization();
    return this.#client!.call({
      method,
      path,
      headers: { ...headers, ...(token === undefined ? {} : { authorization: token }) },
      ...(body === undefined ? {} : { body }),
      timeoutMs: this.#config.ackTimeoutMs,
      signal,
    });
  }

  /** The SAS header, signed anew once the cached one is within `tokenRenewBeforeS` of expiry. */
  #authorization(): string | undefined {
    const now = this.#now();
    if (this.#token !== undefined && now < this.#token.renewAtMs) return this.#token.value;
    const expiresAtS = Math.floor(now / 1000) + this.#config.tokenTtlS;
    const value = deviceToken(this.#identity, expiresAtS);
    if (value === undefined) return undefined;
    this.#token = { value, renewAtMs: (expiresAtS - this.#config.tokenRenewBeforeS) * 1000 };
    return value;
  }
}

/** The hub's HTTP statuses as the Node SDK reads them (docs/clouds/azure-iot-hub.md#https). */
function statusMeaning(status: number): string {
  switch (status) {
    case 401:
      return ' (unauthorized)';
    case 403:
      return ' (quota exceeded)';
    case 413:
      return ' (message too large)';
    case 429:
      return ' (throttled)';
    default:
      return '';
  }
}
