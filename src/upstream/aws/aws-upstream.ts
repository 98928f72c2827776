import type { MqttClient } from 'mqtt';
import { MAX_INBOUND_PAYLOAD_BYTES } from '../inbound/guarded-stream.js';
import { PublishSizeGuard } from '../inbound/publish-size-guard.js';
import type { AwsUpstreamConfig } from '../../config/upstreams/aws.js';
import { FieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, DeviceInfo, Envelope } from '../../model.js';
import type { CommandHandler } from '../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../upstream.js';
import { CommandInbox } from '../common/command-inbox.js';
import type { MqttMessage } from '../common/exchange-guard.js';
import { AwsSession } from './aws-session.js';
import { AWS_BILLING_UNIT_BYTES } from './protocol/billing.js';
import { CommandChannel } from './command-channel.js';
import { JobsRunner } from './jobs-runner.js';
import { PublishBudget, type PublishPriority, type ReleaseSlot } from './publish-budget.js';
import { ShadowSync } from './shadow-sync.js';
import { subscribeOrWarn } from './subscribe.js';
import { TelemetrySender } from './telemetry-sender.js';
import { TopicTemplate } from './protocol/topics.js';
import { UsageMeter, type AwsUsage } from './usage-meter.js';

export interface AwsUpstreamOptions {
  config: AwsUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  /** Reads the TLS files named in config; injectable for tests. */
  readFile?: (path: string) => Promise<Buffer>;
  /** Command requests larger than this are answered `rejected` unparsed; default 16 KiB. */
  maxCommandBytes?: number;
  now?: () => number;
}

/**
 * IoT Core counts publishes per second (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits); 10 ms more covers
 * clock granularity on either side.
 */
const PUBLISH_WINDOW_MS = 1010;

/** Counters for status and cost checks; `billedUnits` and `operations` are described at `AwsUsage`. */
export interface AwsUpstreamStats extends AwsUsage {
  /** Telemetry messages IoT Core acknowledged. */
  messages: number;
  /**
   * Their cost in 5 KB metering units (docs/clouds/aws-iot-core.md#gateway-pattern-and-metering); Basic
   * Ingest is free.
   */
  telemetryUnits: number;
  /** Connections the service closed on us, most likely another client taking over our client id. */
  takeovers: number;
}

/**
 * The AWS IoT Core connector (docs/clouds/aws-iot-core.md). Telemetry goes to the gateway's
 * topic (`dt/fieldgate/{gateway}`, or one per device with `{device}`), QoS 1, payloads ≤ 128 KiB packed to
 * fill 5 KB billing units, paced to ≤ 100 publishes/s; over MQTT with mutual TLS, or HTTPS publish.
 * Commands arrive on `cmd/fieldgate/{gateway}/{device}/req` and each gets one response on `…/res`; device
 * shadows and IoT Jobs ride on the same connection.
 *
 * This class wires the parts together: `AwsSession` (connection lifecycle, takeover backoff),
 * `TelemetrySender`, `CommandChannel`, `ShadowSync` and `JobsRunner`. The client id is the gateway thing
 * name; the forwarder owns reconnects.
 */
export class AwsUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  readonly #config: AwsUpstreamConfig;
  readonly #log: Logger;
  /** Every publish on the connection takes a slot here first (IoT Core counts them all). */
  readonly #budget: PublishBudget;
  readonly #session: AwsSession;
  /** Reads past inbound messages larger than IoT Core ever sends, instead of buffering them whole. */
  readonly #guard: PublishSizeGuard;
  readonly #telemetry: TelemetrySender;
  readonly #commands: CommandChannel;
  /** The router's handler (request topics, shadow deltas and jobs alike), kept responses, closed state. */
  readonly #inbox: CommandInbox<MqttMessage>;
  /** Undefined when shadows are off or telemetry goes over HTTPS (no subscriptions there). */
  readonly #shadows: ShadowSync | undefined;
  /** Undefined unless `jobs.enabled` and telemetry goes over MQTT. */
  readonly #jobs: JobsRunner | undefined;
  /** Aborted on close, so publishes waiting for the budget give up. */
  readonly #pacingSignal = new AbortController();
  /** What the MQTT connections cost, as IoT Core meters it. */
  readonly #usage = new UsageMeter();

  constructor(options: AwsUpstreamOptions) {
    const { config } = options;
    this.#config = config;
    const thingName = config.thingName ?? options.gatewayId;
    const now = options.now ?? Date.now;
    this.#log = options.log.child({ component: 'aws-upstream', route: options.route });
    this.#inbox = new CommandInbox({ log: this.#log, now });
    this.#budget = new PublishBudget({ limit: config.maxMessagesPerSecond, windowMs: PUBLISH_WINDOW_MS });
    const known = ['gateway', 'route', 'device'];
    const request = new TopicTemplate(config.topics.commandRequest, known);
    if (!request.hasDevice) {
      throw new FieldgateError('FG_CONFIG_INVALID', 'topics.commandRequest must contain {device}.', {
        context: { template: config.topics.commandRequest },
      });
    }
    const vars = { gateway: thingName, route: options.route };
    request.filter(vars, ['device']);
    this.#guard = new PublishSizeGuard({
      maxPayloadBytes: MAX_INBOUND_PAYLOAD_BYTES,
      protocolVersion: config.mqttVersion === '5' ? 5 : 4,
    });
    this.#session = new AwsSession({
      config,
      clientId: thingName,
      log: this.#log,
      readFile: options.readFile,
      now,
      subscribe: (client, signal) => this.#subscribe(client, signal),
      guard: this.#guard,
      usage: this.#usage,
      onMessage: (topic, payload) => this.#onMessage(topic, payload),
      onUp: () => this.#onUp(),
      onDown: () => {
        this.#shadows?.disconnected();
        this.#jobs?.disconnected();
      },
    });
    this.#telemetry = new TelemetrySender({
      session: this.#session,
      gatewayId: options.gatewayId,
      route: options.route,
      telemetry: new TopicTemplate(config.topics.telemetry, [...known, 'encoding']),
      maxMessageBytes: config.maxMessageBytes,
      encoding: config.encoding,
      ackTimeoutMs: config.ackTimeoutMs,
      limiter: { take: (signal) => this.#budget.take('bulk', signal) },
      log: this.#log,
    });
    this.#commands = new CommandChannel({
      request,
      response: new TopicTemplate(config.topics.commandResponse, known),
      vars,
      thingName,
      route: options.route,
      maxCommandBytes: options.maxCommandBytes ?? 16 * 1024,
      ackTimeoutMs: config.ackTimeoutMs,
      log: this.#log,
      now,
      publish: (topic, payload) => this.#publishPaced('control', topic, payload),
      inbox: this.#inbox,
    });
    this.#shadows =
      config.shadows.mode === 'off' || config.transport === 'https'
        ? undefined
        : new ShadowSync({
            config: config.shadows,
            gatewayThing: thingName,
            route: options.route,
            log: this.#log,
            now,
            // Paced by ShadowSync itself (`pace`), so it can note when a request left.
            publish: (topic, body) => this.#session.publishOnce(topic, jsonPayload(body)),
            // A request and the answer IoT Core will send back on this connection.
            pace: () => this.#budget.take('bulk', this.#pacingSignal.signal, 1),
            submit: (incoming) => this.#inbox.dispatch(incoming),
            onAccepted: () => this.#usage.shadowAccepted(),
          });
    this.#jobs =
      config.jobs.enabled && config.transport === 'mqtt'
        ? new JobsRunner({
            thingName,
            route: options.route,
            log: this.#log,
            now,
            // Every Jobs request is answered on this connection (accepted or rejected).
            publish: (topic, body) => this.#publishPaced('control', topic, jsonPayload(body), 1),
            submit: (incoming) => this.#inbox.dispatch(incoming),
            answerTimeoutMs: config.ackTimeoutMs,
          })
        : undefined;
    this.limits = {
      maxMessageBytes: config.maxMessageBytes,
      maxMessagesPerSecond: config.maxMessagesPerSecond,
      billingUnitBytes: AWS_BILLING_UNIT_BYTES,
    };
  }

  get isConnected(): boolean {
    return this.#session.isConnected;
  }

  stats(): AwsUpstreamStats {
    const usage = this.#usage.read();
    if (this.#config.transport === 'https') {
      // No MQTT packets to count: each HTTPS publish is one message, billed by its body.
      usage.billedUnits += this.#telemetry.billedUnits;
      usage.operations.publishOut += this.#telemetry.messages;
    }
    return {
      ...usage,
      messages: this.#telemetry.messages,
      telemetryUnits: this.#telemetry.billedUnits,
      takeovers: this.#session.takeovers,
    };
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  /** Availability goes into the device's shadow `reported` (nothing when shadows are off). */
  onDeviceState(info: Pick<DeviceInfo, 'id' | 'availability'>): void {
    this.#shadows?.deviceState(info);
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    await this.#session.connect(signal);
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    // Shadow state follows every reading handed to us; a retried batch merges to the same values.
    this.#shadows?.observe(batch);
    return this.#telemetry.send(batch, signal);
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    if (this.#inbox.refusesResult(command.id)) return;
    // A command that came from a shadow's desired state answers in that shadow's reported state.
    if (this.#shadows?.reflect(command.id, result) === true) return;
    // A command that came from an IoT Job answers as that job execution's status.
    if ((await this.#jobs?.report(command.id, result)) === true) return;
    if (this.#config.transport === 'https') {
      this.#log.warn({ id: command.id }, 'HTTPS transport has no command channel; the response is dropped.');
      return;
    }
    await this.#commands.respond(command, result);
  }

  async close(): Promise<void> {
    this.#inbox.close();
    this.#shadows?.close();
    this.#jobs?.close();
    this.#pacingSignal.abort();
    await this.#session.drop();
  }

  /** Everything a new connection subscribes to before it counts as up. */
  async #subscribe(client: MqttClient, signal: AbortSignal): Promise<void> {
    await this.#commands.subscribe(client, signal);
    const { ackTimeoutMs } = this.#config;
    if (this.#shadows !== undefined) {
      const shadowSubscription = { what: 'shadow', signal, ackTimeoutMs, log: this.#log };
      await subscribeOrWarn(client, this.#shadows.topics.filters(), shadowSubscription);
    }
    if (this.#jobs !== undefined) {
      const jobsSubscription = { what: 'jobs', signal, ackTimeoutMs, log: this.#log };
      await subscribeOrWarn(client, this.#jobs.filters(), jobsSubscription);
    }
  }

  #onUp(): void {
    void this.#commands.flush();
    this.#shadows?.connected();
    this.#jobs?.connected();
  }

  #onMessage(topic: string, payload: Buffer): void {
    // IoT Core counted it against the connection's publishes per second, whatever it is.
    this.#budget.noteInbound();
    const oversize = this.#guard.oversizeOf(payload);
    if (oversize !== undefined) {
      // Read past, never buffered: only a command request gets an answer (rejected, too large).
      if (!this.#commands.handleMessage(topic, payload, oversize))
        this.#log.debug({ topic, bytes: oversize }, 'Read past an oversize message; ignored.');
      return;
    }
    if (this.#shadows?.handleMessage(topic, payload) === true) return;
    if (this.#jobs?.handleMessage(topic, payload) === true) return;
    if (this.#commands.handleMessage(topic, payload)) return;
    this.#log.debug({ topic }, 'Message on an unexpected topic; ignored.');
  }

  /**
   * One QoS 1 publish on the live connection once the budget allows, with room for the `answers` IoT Core
   * will publish back; false when offline or closing.
   */
  async #publishPaced(
    priority: PublishPriority,
    topic: string,
    payload: Buffer,
    answers = 0,
  ): Promise<boolean> {
    if (this.#session.client === undefined) return false;
    let release: ReleaseSlot;
    try {
      release = await this.#budget.take(priority, this.#pacingSignal.signal, answers);
    } catch {
      return false;
    }
    return this.#session.publishOnce(topic, payload).finally(release);
  }
}

function jsonPayload(body: object): Buffer {
  return Buffer.from(JSON.stringify(body));
}
