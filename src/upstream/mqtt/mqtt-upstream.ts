import { readFile as fsReadFile } from 'node:fs/promises';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { UpstreamConfig } from '../../config/schema.js';
import type { Logger } from '../../logger.js';
import type { CommandResult, Envelope } from '../../model.js';
import { FieldgateError } from '../../errors.js';
import { RateLimiter } from '../common/rate-limiter.js';
import { readTlsFiles } from '../common/tls-files.js';
import type { CommandGate } from '../../commands/command-gate.js';
import type { CommandHandler } from '../../commands/incoming.js';
import type { SendResult, Upstream, UpstreamLimits } from '../upstream.js';
import { CommandInbox } from '../common/command-inbox.js';
import { classifyConnectError } from '../common/connect-error.js';
import { formatResultPayload, oversizeCommand, parseCommandMessage } from './commands.js';
import { connectGuarded, MAX_INBOUND_PAYLOAD_BYTES } from '../inbound/guarded-stream.js';
import { PublishSizeGuard } from '../inbound/publish-size-guard.js';
import { splitBatch, type EncodedMessage } from '../common/batch-payload.js';
import { publishPipelined } from '../common/pipelined-publish.js';
import { sendResult } from '../common/send-result.js';
import { resolveTopics, type Topics } from './topics.js';
import { ExchangeGuard, publishAcked } from '../common/exchange-guard.js';
import { waitForConnack } from '../common/connack.js';
import { isRefusedSubscription } from '../common/suback.js';

export type MqttUpstreamConfig = Extract<UpstreamConfig, { type: 'mqtt' }>;

export interface MqttUpstreamOptions {
  config: MqttUpstreamConfig;
  gatewayId: string;
  route: string;
  log: Logger;
  /** Reads the TLS files named in config; injectable for tests. */
  readFile?: (path: string) => Promise<Buffer>;
  /** Command payloads larger than this are answered `rejected` unparsed; default 64 KiB. */
  maxCommandBytes?: number;
  now?: () => number;
}

/**
 * The generic MQTT connector (docs/clouds/mqtt.md): batches go to the telemetry topic at QoS 1, commands
 * arrive
 * on `<commands>` or `<commands>/<device>`, results go to `<results>` at QoS 1.
 *
 * It never reconnects on its own (`reconnectPeriod: 0`): the forwarder owns reconnects and their backoff.
 * Each `connect` opens a fresh client with the same client id and `clean: false`, so QoS 1 commands the
 * broker queued while we were away are delivered on return.
 *
 * Results are best-effort across a gateway restart: while disconnected they wait in the in-memory outbox of
 * its {@link CommandInbox} (the newest 100), flushed on reconnect and lost if the process exits.
 */
export class MqttUpstream implements Upstream {
  readonly limits: UpstreamLimits;
  /**
   * Sends share the one connection and publish in call order, each send's messages in sequence (messages
   * of overlapping sends may interleave). MQTT 3.1.1 puts no bound on QoS 1 publishes awaiting PUBACK, so
   * the route's `maxInFlight` alone decides. A connection lost fails every send on it alike.
   */
  readonly maxConcurrentSends = Number.POSITIVE_INFINITY;
  readonly #config: MqttUpstreamConfig;
  readonly #gatewayId: string;
  readonly #route: string;
  readonly #log: Logger;
  readonly #readFile: (path: string) => Promise<Buffer>;
  readonly #maxCommandBytes: number;
  readonly #now: () => number;
  readonly #topics: Topics;
  readonly #limiter: RateLimiter;
  /** Reads past inbound messages too large to be a command, instead of buffering them whole. */
  readonly #guard: PublishSizeGuard;
  /** Results to the `<results>` topic. */
  readonly #inbox: CommandInbox<Buffer>;
  #client: MqttClient | undefined;

  constructor(options: MqttUpstreamOptions) {
    this.#config = options.config;
    this.#gatewayId = options.gatewayId;
    this.#route = options.route;
    this.#log = options.log.child({ component: 'mqtt-upstream', route: options.route });
    this.#readFile = options.readFile ?? fsReadFile;
    this.#maxCommandBytes = options.maxCommandBytes ?? 64 * 1024;
    this.#now = options.now ?? Date.now;
    this.#topics = resolveTopics(options.config.topics, options.gatewayId, options.route);
    this.#inbox = new CommandInbox({ log: this.#log, now: this.#now });
    this.limits = {
      maxMessageBytes: options.config.maxMessageBytes,
      maxMessagesPerSecond: options.config.maxMessagesPerSecond,
      billingUnitBytes: 0,
    };
    this.#limiter = new RateLimiter({ perSecond: options.config.maxMessagesPerSecond });
    this.#guard = new PublishSizeGuard({
      maxPayloadBytes: Math.max(this.#maxCommandBytes, MAX_INBOUND_PAYLOAD_BYTES),
      protocolVersion: 4,
    });
  }

  get isConnected(): boolean {
    return this.#client?.connected === true;
  }

  onCommand(handler: CommandHandler): void {
    this.#inbox.onCommand(handler);
  }

  /** Everything this connector subscribes to is a command: the gate sees each one before it is parsed. */
  setCommandGate(gate: CommandGate): void {
    this.#guard.setScreen(() => !gate.admitUnread());
  }

  async connect(signal: AbortSignal): Promise<void> {
    this.#inbox.throwIfClosed();
    this.#dropClient();
    const options: IClientOptions = {
      ...(await this.#tlsOptions()),
      clientId: this.#config.clientId ?? `fieldgate-${this.#gatewayId}-${this.#route}`,
      clean: false,
      reconnectPeriod: 0,
      keepalive: this.#config.keepaliveS,
      protocolVersion: 4,
      queueQoSZero: false,
      resubscribe: false,
      // mqtt-packet's default pre-builds 65,536 two-byte Buffers (~6 MiB of heap) to save an allocation per
      // packet id; a gateway sends a few packets per second, so the heap matters more.
      writeCache: false,
      ...(this.#config.username === undefined ? {} : { username: this.#config.username }),
      ...(this.#config.password === undefined ? {} : { password: this.#config.password }),
    };
    const client = connectGuarded(this.#config.url, options, this.#guard);
    // mqtt.js emits 'error' for socket trouble at any time; without a listener that would crash the process.
    client.on('error', (e) => this.#log.debug({ err: e }, 'MQTT client error.'));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    try {
      await waitForConnack(client, signal);
      // `<commands>/#` also matches `<commands>` itself (MQTT 3.1.1 §4.7.1.2), so one filter covers both
      // forms; subscribing to both would get each body-addressed command twice from some brokers.
      const subscribed = client.subscribeAsync(this.#topics.commandsFilter, { qos: 1 }).then(
        () => true,
        (e: unknown) => {
          if (isRefusedSubscription(e)) return false;
          throw e;
        },
      );
      if (!(await raceClose(client, signal, subscribed))) {
        // Telemetry still flows; only commands are lost, so this is a warning, not a failed connect.
        this.#log.warn(
          { topic: this.#topics.commandsFilter },
          'The broker refused the command subscription; commands will not arrive. Check the broker ACL.',
        );
      }
    } catch (e) {
      client.end(true);
      throw e instanceof FieldgateError ? e : classifyConnectError(e);
    }
    this.#client = client;
    // Not the URL: it may carry `user:password@`.
    this.#log.debug({ clientId: client.options.clientId }, 'Connected to the MQTT broker.');
    void this.#inbox.flush((payload) => this.#publishResultNow(payload));
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    const client = this.#client;
    if (client?.connected !== true) return { kind: 'retry', reason: 'offline' };
    const maxBytes = this.limits.maxMessageBytes;
    const reason = `reading alone exceeds maxMessageBytes (${maxBytes})`;
    const messages: (EncodedMessage & { topic: string })[] = [];
    const rejected: { gseq: number; reason: string }[] = [];
    for (const [topic, group] of this.#byTopic(batch)) {
      const split = splitBatch(this.#gatewayId, group, maxBytes, {
        gzip: this.#config.encoding === 'json+gzip',
      });
      for (const message of split.messages) messages.push({ ...message, topic });
      for (const e of split.oversized) rejected.push({ gseq: e.gseq, reason });
    }
    const { acked, failure } = await publishPipelined(client, messages, {
      take: (s) => this.#limiter.take(s),
      signal,
      ackTimeoutMs: this.#config.ackTimeoutMs,
    });
    if (failure === 'timeout') {
      // A broker that stops acknowledging on a live socket is as good as gone: start afresh.
      this.#log.debug(
        { ackTimeoutMs: this.#config.ackTimeoutMs },
        'No PUBACK in time; dropping the connection.',
      );
      this.#dropClient();
    }
    return sendResult({ acked, rejected, failure });
  }

  async publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    const payload = formatResultPayload(command, result, this.#now());
    await this.#inbox.publish(command.id, payload, (p) => this.#publishResultNow(p));
  }

  async close(): Promise<void> {
    this.#inbox.close();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    // A polite DISCONNECT only when nothing is in flight: otherwise mqtt.js waits for PUBACKs that may
    // never come, and ignores a later forced end. The forwarder has already settled every send by now.
    const isIdle = client.connected && Object.keys(client.outgoing).length === 0;
    await client.endAsync(!isIdle);
  }

  /**
   * The batch by telemetry topic: one group when the topic is the same for every device; with `{device}` or
   * `{name}` in the template, one per topic, in order of each topic's first reading, order kept within.
   */
  #byTopic(batch: readonly Envelope[]): Map<string, Envelope[]> {
    if (!this.#topics.isTelemetryPerDevice) return new Map([[this.#topics.telemetry, [...batch]]]);
    const groups = new Map<string, Envelope[]>();
    for (const envelope of batch) {
      const topic = this.#topics.telemetryOf(envelope.reading);
      const group = groups.get(topic);
      if (group === undefined) groups.set(topic, [envelope]);
      else group.push(envelope);
    }
    return groups;
  }

  #publishResultNow(payload: Buffer): Promise<boolean> {
    const message = { topic: this.#topics.results, payload };
    return publishAcked(this.#client, message, this.#config.ackTimeoutMs);
  }

  #onMessage(topic: string, payload: Buffer): void {
    const options = {
      commandsTopic: this.#topics.commands,
      maxBytes: this.#maxCommandBytes,
      now: this.#now(),
      route: this.#route,
    };
    const oversize = this.#guard.oversizeOf(payload);
    const incoming =
      oversize === undefined
        ? parseCommandMessage(topic, payload, options)
        : oversizeCommand(topic, oversize, options);
    this.#inbox.dispatch(incoming, { topic });
  }

  async #tlsOptions(): Promise<Partial<IClientOptions>> {
    const tls = this.#config.tls;
    if (tls === undefined) return {};
    return {
      ...(await readTlsFiles(tls, this.#readFile)),
      ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    };
  }

  #dropClient(): void {
    const client = this.#client;
    this.#client = undefined;
    client?.end(true);
  }
}

/** `work`, unless the connection closes or the signal aborts first (then a retryable offline error). */
async function raceClose<T>(client: MqttClient, signal: AbortSignal, work: Promise<T>): Promise<T> {
  const latch = new ExchangeGuard(client, signal);
  // If the latch wins, `work` may still reject later; that outcome no longer matters to anyone.
  work.catch(() => undefined);
  try {
    const lost = latch.reason.then((reason) => {
      throw new FieldgateError('FG_UPSTREAM_OFFLINE', `Subscribing failed: ${reason}.`, {
        context: { reason },
      });
    });
    return await Promise.race([work, lost]);
  } finally {
    latch.dispose();
  }
}
