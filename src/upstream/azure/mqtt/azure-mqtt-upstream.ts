import { randomUUID } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { connectGuarded, MAX_INBOUND_PAYLOAD_BYTES } from '../../inbound/guarded-stream.js';
import { PublishSizeGuard } from '../../inbound/publish-size-guard.js';
import type { AzureUpstreamConfig } from '../../../config/upstreams/azure.js';
import { FieldgateError } from '../../../errors.js';
import type { Logger } from '../../../logger.js';
import type { CommandResult, Envelope } from '../../../model.js';
import { RateLimiter } from '../../common/rate-limiter.js';
import { incomingId, type CommandHandler, type IncomingCommand } from '../../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../../upstream.js';
import { CommandInbox } from '../../common/command-inbox.js';
import { publishPipelined } from '../../common/pipelined-publish.js';
import { sendResult } from '../../common/send-result.js';
import {
  methodStatusFor,
  parseC2dMessage,
  parseMethodRequest,
  resultBody,
  resultProperties,
} from '../commands.js';
import { azureLimits, type AzureConnectorOptions } from '../connector-options.js';
import { deviceToken, resolveIdentity, type AzureIdentity } from '../credentials.js';
import { d2cPropertyBag, encodeD2cBatch } from '../encode.js';
import { waitForConnack } from '../../common/connack.js';
import { publishAcked, within, type MqttMessage } from '../../common/exchange-guard.js';
import { formatPropertyBag, parsePropertyBag } from '../protocol/property-bag.js';
import { readTlsFiles } from '../../common/tls-files.js';
import type { GatewayStatus } from '../../upstream.js';
import { twinFor, type GatewayTwin } from '../gateway-twin.js';
import { MqttTwinChannel } from './twin-mqtt.js';
import { AzureOperationMeter, meteredTwinChannel } from '../operation-meter.js';
import { TWIN_DESIRED_FILTER, TWIN_RESPONSE_FILTER } from '../protocol/topics.js';
import {
  c2dFilter,
  c2dPropertyBag,
  eventsTopic,
  METHODS_FILTER,
  methodResponseTopic,
  mqttClientId,
  mqttUsername,
  parseMethodTopic,
} from '../protocol/topics.js';

export interface AzureMqttUpstreamOptions extends AzureConnectorOptions {
  /** The gateway's status; with `twin.enabled` it is reported in the device twin. */
  status?: () => GatewayStatus;
  /** Connect as this device instead of the gateway's own (`identity: perDevice`: one connection per leaf). */
  identity?: AzureIdentity;
  /** The leaf this connection speaks for: a C2D message to its device is a command for this leaf. */
  leaf?: string;
  /** Pacing shared with other connections of the same route; default one of its own. */
  limiter?: RateLimiter;
}

/** Counters a user of the hub cares about: what was sent and what it will be billed. */
export interface AzureUpstreamStats {
  messages: number;
  readings: number;
  /**
   * 4 KB units the hub meters for the messages it acknowledged
   * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
   */
  billedUnits: number;
  /** Billable operations by kind (`d2c` and the `AzureOperation`s), where the connector counts them. */
  operations?: Record<string, number>;
}

/** C2D and method payloads above this are answered `rejected` unparsed (C2D's own limit is 64 KB). */
const MAX_COMMAND_BYTES = 64 * 1024;
/** Direct methods awaiting their result; the hub gives up on them long before this many pile up. */
const PENDING_METHODS_LIMIT = 1000;

/**
 * Azure IoT Hub over MQTT 3.1.1 with the gateway's own device identity
 * (docs/clouds/azure-iot-hub.md#mqtt-connect).
 *
 * Connects as the hub expects (client id = device id, `{host}/{id}/?api-version=…` username, SAS password,
 * `clean: false`, no auto-reconnect: mqtt.js would resend a stale token). The hub cannot refresh a token
 * in band on MQTT, so `tokenRenewBeforeS` before expiry the connector reconnects with a fresh one, between
 * sends so no batch is cut. Telemetry: full D2C messages on the events topic at QoS 1. C2D arrives at QoS 1
 * (PUBACK completes it in the hub); direct methods are answered on the method response topic with the
 * result's status; other results go up as `fieldgate-type=commandResult` D2C messages.
 */
export class AzureMqttUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AzureUpstreamConfig;
  readonly #identity: AzureIdentity;
  readonly #leaf: string | undefined;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #log: Logger;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #now: () => number;
  readonly #limiter: RateLimiter;
  readonly #stats: AzureUpstreamStats = { messages: 0, readings: 0, billedUnits: 0 };
  /** Command id → `$rid` of the direct method waiting for it. */
  readonly #pendingMethods = new Map<string, string>();
  readonly #twin: GatewayTwin | undefined;
  readonly #operations = new AzureOperationMeter();
  /** Reads past inbound messages larger than the hub ever sends, instead of buffering them whole. */
  readonly #guard = new PublishSizeGuard({ maxPayloadBytes: MAX_INBOUND_PAYLOAD_BYTES, protocolVersion: 4 });
  /** Results as D2C messages; method responses are never kept (the caller has gone by then). */
  readonly #inbox: CommandInbox<MqttMessage>;
  #client: MqttClient | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #isRenewDue = false;
  #isSending = false;
  #renewing: Promise<void> | undefined;

  constructor(options: AzureMqttUpstreamOptions) {
    this.#config = options.config;
    this.#identity = options.identity ?? resolveIdentity(options.config, options.gatewayId);
    this.#leaf = options.leaf;
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#log = options.log.child({
      component: 'azure-upstream',
      route: options.route,
      deviceId: this.#identity.deviceId,
    });
    this.#readFile = options.readFile ?? fsReadFile;
    this.#now = options.now ?? Date.now;
    this.limits = azureLimits(options.config);
    this.#limiter = options.limiter ?? new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#twin = twinFor(options, this.#log);
    this.#inbox = new CommandInbox({ log: this.#log, now: this.#now });
  }

  get isConnected(): boolean {
    return this.#client?.connected === true;
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
    await this.#renewing;
    if (this.isConnected) return;
    await this.#open(signal);
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    if (this.#isRenewDue) await this.#renew();
    const client = this.#client;
    if (client?.connected !== true) return { kind: 'retry', reason: 'offline' };
    this.#isSending = true;
    try {
      return await this.#sendOn(client, batch, signal);
    } finally {
      this.#isSending = false;
      if (this.#isRenewDue) void this.#renew();
    }
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    const body = resultBody(command, result);
    const rid = this.#pendingMethods.get(command.id);
    this.#pendingMethods.delete(command.id);
    if (rid !== undefined) this.#operations.addUnits(body.length);
    // A method's caller is waiting on this connection; the hub delivers method responses at QoS 0.
    const message =
      rid !== undefined
        ? { topic: methodResponseTopic(methodStatusFor(result.status), rid), payload: body, qos: 0 as const }
        : { topic: this.#resultTopic(command), payload: body, qos: 1 as const };
    // Not kept: once the method call is over, the hub has nobody to hand a late answer to.
    if (rid !== undefined) await this.#publishNow(message);
    else {
      // Over MQTT a C2D command's result goes up as a D2C message, which the hub bills like telemetry.
      const sizeBytes = body.length + propertyBytes(resultProperties(command));
      await this.#inbox.publish(command.id, message, async (m) => {
        const isSent = await this.#publishNow(m);
        if (isSent) this.#operations.count('d2c', sizeBytes);
        return isSent;
      });
    }
  }

  async close(): Promise<void> {
    this.#inbox.close();
    this.#twin?.detach();
    clearTimeout(this.#renewTimer);
    await this.#renewing;
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    const isIdle = client.connected && Object.keys(client.outgoing).length === 0;
    await client.endAsync(!isIdle);
  }

  async #sendOn(client: MqttClient, batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    const { messages, oversized } = encodeD2cBatch(batch, {
      gatewayId: this.#gatewayId,
      route: this.#route,
      maxMessageBytes: this.limits.maxMessageBytes,
      now: this.#now(),
      encoding: this.#config.encoding,
    });
    const reason = `reading alone exceeds the hub's message limit (${this.limits.maxMessageBytes} bytes)`;
    const rejected = oversized.map((e) => ({ gseq: e.gseq, reason }));
    const { deviceId, moduleId } = this.#identity;
    const toPublish = messages.map((m) => ({
      ...m,
      topic: eventsTopic(deviceId, d2cPropertyBag(m), moduleId),
      payload: m.body,
    }));
    const { acked, failure } = await publishPipelined(client, toPublish, {
      take: (s) => this.#limiter.take(s),
      signal,
      ackTimeoutMs: this.#config.ackTimeoutMs,
      onAcked: (message) => {
        this.#stats.messages += 1;
        this.#stats.readings += message.items.length;
        this.#stats.billedUnits += message.billedUnits;
      },
    });
    if (failure === 'timeout') {
      // A hub that stops acknowledging on a live socket is as good as gone: start afresh next time.
      this.#log.debug(
        { ackTimeoutMs: this.#config.ackTimeoutMs },
        'No PUBACK in time; dropping the connection.',
      );
      this.#drop();
    }
    return sendResult({ acked, rejected, failure });
  }

  async #open(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    this.#drop();
    const { deviceId, moduleId, hostName } = this.#identity;
    const expiresAtS = Math.floor(this.#now() / 1000) + this.#config.tokenTtlS;
    const password = deviceToken(this.#identity, expiresAtS);
    const client = connectGuarded(
      this.#identity.endpoint,
      {
        ...(await readTlsFiles(this.#config.tls, this.#readFile)),
        clientId: mqttClientId(deviceId, moduleId),
        username: mqttUsername(hostName, deviceId, moduleId),
        ...(password === undefined ? {} : { password }),
        protocolVersion: 4,
        clean: false,
        keepalive: this.#config.keepaliveS,
        reconnectPeriod: 0,
        resubscribe: false,
        queueQoSZero: false,
      },
      this.#guard,
    );
    // mqtt.js emits 'error' for socket trouble at any time; without a listener that would crash the process.
    client.on('error', (e) => this.#log.debug({ err: e }, 'MQTT client error.'));
    const twin = this.#twin;
    const twinChannel =
      twin === undefined
        ? undefined
        : new MqttTwinChannel(client, this.#config.ackTimeoutMs, (patch) => twin.onDesiredPatch(patch));
    client.on('message', (topic, payload) => {
      if (twinChannel?.handle(topic, payload) !== true) this.#onMessage(topic, payload);
    });
    try {
      await waitForConnack(client, signal);
      const subscribed = client.subscribeAsync({
        // A module has no C2D queue: its commands come as direct methods.
        ...(moduleId === undefined ? { [c2dFilter(deviceId)]: { qos: 1 } } : {}),
        [METHODS_FILTER]: { qos: 0 },
        ...(twinChannel === undefined
          ? {}
          : { [TWIN_RESPONSE_FILTER]: { qos: 0 }, [TWIN_DESIRED_FILTER]: { qos: 0 } }),
      });
      const failure = await within(client, signal, this.#config.ackTimeoutMs, subscribed);
      if (failure !== undefined) {
        throw new FieldgateError('FG_UPSTREAM_OFFLINE', `Subscribing failed: ${failure}.`, {
          context: { reason: failure },
        });
      }
    } catch (e) {
      client.end(true);
      throw e;
    }
    this.#client = client;
    this.#scheduleRenewal(expiresAtS);
    this.#log.debug({ endpoint: this.#identity.endpoint, expiresAtS }, 'Connected to IoT Hub.');
    void this.#inbox.flush((m) => this.#publishNow(m));
    if (twinChannel !== undefined) void twin?.attach(meteredTwinChannel(twinChannel, this.#operations));
  }

  #scheduleRenewal(expiresAtS: number): void {
    clearTimeout(this.#renewTimer);
    this.#isRenewDue = false;
    if (this.#identity.auth.kind !== 'sas') return; // X.509 connections do not expire
    const renewInMs = Math.max(0, (expiresAtS - this.#config.tokenRenewBeforeS) * 1000 - this.#now());
    this.#renewTimer = setTimeout(() => {
      this.#isRenewDue = true;
      if (!this.#isSending) void this.#renew();
    }, renewInMs);
    this.#renewTimer.unref();
  }

  /** Reconnect with a fresh token; failures leave us disconnected for the forwarder to retry. */
  #renew(): Promise<void> {
    this.#renewing ??= (async () => {
      try {
        if (this.#inbox.isClosed) return;
        this.#log.debug('Renewing the SAS token: reconnecting.');
        await this.#open(new AbortController().signal);
      } catch (e) {
        this.#log.debug({ err: e }, 'Reconnecting with a fresh token failed; the forwarder will retry.');
      } finally {
        this.#renewing = undefined;
      }
    })();
    return this.#renewing;
  }

  #onMessage(topic: string, payload: Buffer): void {
    const read = this.#guard.oversizeOf(payload);
    const options = {
      maxBytes: MAX_COMMAND_BYTES,
      now: this.#now(),
      route: this.#route,
      newId: randomUUID,
      ...(read === undefined ? {} : { oversizeBytes: read }),
    };
    let incoming: IncomingCommand;
    const bag = c2dPropertyBag(this.#identity.deviceId, topic);
    const method = parseMethodTopic(topic);
    if (bag !== undefined) {
      const properties = parsePropertyBag(bag);
      // On a leaf's own connection the device the message came to names the leaf (a body naming another
      // device is then refused as differing).
      if (this.#leaf !== undefined) properties['fieldgate-device'] = this.#leaf;
      incoming = parseC2dMessage(properties, payload, options);
      this.#operations.count('c2d', payload.length);
    } else if (method !== undefined) {
      this.#operations.count('method', payload.length);
      incoming = parseMethodRequest(method.method, payload, {
        ...options,
        timeoutMs: this.#config.methodTimeoutMs,
      });
      this.#pendingMethods.set(incomingId(incoming), method.rid);
      if (this.#pendingMethods.size > PENDING_METHODS_LIMIT) {
        this.#pendingMethods.delete(this.#pendingMethods.keys().next().value!);
      }
    } else {
      this.#log.debug({ topic }, 'Ignored a message on an unexpected topic.');
      return;
    }
    this.#inbox.dispatch(incoming, { topic });
  }

  #resultTopic(command: { id: string; device?: string }): string {
    const { deviceId, moduleId } = this.#identity;
    return eventsTopic(deviceId, formatPropertyBag(resultProperties(command)), moduleId);
  }

  #publishNow(message: MqttMessage): Promise<boolean> {
    return publishAcked(this.#client, message, this.#config.ackTimeoutMs);
  }

  #drop(): void {
    this.#twin?.detach();
    const client = this.#client;
    this.#client = undefined;
    client?.end(true);
  }
}

/** The bytes the hub counts for application properties: each name and value. */
function propertyBytes(properties: Record<string, string>): number {
  return Object.entries(properties).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
    0,
  );
}
