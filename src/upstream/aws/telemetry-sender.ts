import type { Logger } from '../../logger.js';
import type { Envelope } from '../../model.js';
import type { SendResult } from '../upstream.js';
import type { AwsSession } from './aws-session.js';
import { planTelemetry, type TelemetryEncoding, type TelemetryMessage } from './encode.js';
import { publishOverHttps, publishOverMqtt, type Pacing } from './telemetry-publish.js';
import type { TopicTemplate } from './protocol/topics.js';
import { sendResult } from '../common/send-result.js';

export interface TelemetrySenderOptions {
  session: AwsSession;
  gatewayId: string;
  route: string;
  telemetry: TopicTemplate;
  maxMessageBytes: number;
  /** Telemetry payload encoding (`upstream.encoding`); default `json`. */
  encoding?: TelemetryEncoding;
  ackTimeoutMs: number;
  /** The connection's publish pacing, shared with every other publish on it. */
  limiter: Pacing['limiter'];
  log: Logger;
}

/**
 * Turns a lease of readings into IoT Core publishes (`planTelemetry`) and sends them over the session's
 * MQTT connection or HTTPS, paced; maps the outcome to the forwarder's `SendResult` and counts what was
 * delivered and billed.
 */
export class TelemetrySender {
  readonly #options: TelemetrySenderOptions;
  messages = 0;
  billedUnits = 0;

  constructor(options: TelemetrySenderOptions) {
    this.#options = options;
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    const { session } = this.#options;
    const { messages, refused } = planTelemetry(batch, {
      gatewayId: this.#options.gatewayId,
      route: this.#options.route,
      telemetry: this.#options.telemetry,
      maxMessageBytes: this.#options.maxMessageBytes,
      ...(this.#options.encoding === undefined ? {} : { encoding: this.#options.encoding }),
    });
    const https = session.https;
    const client = session.client;
    if (https === undefined && client === undefined) {
      return session.isKicked
        ? { kind: 'retry', reason: 'IoT Core closed the connection (client id taken over?)', kicked: true }
        : { kind: 'retry', reason: 'offline' };
    }
    const pacing = {
      limiter: this.#options.limiter,
      signal,
      onDelivered: (m: TelemetryMessage) => this.#delivered(m),
    };
    const { ackTimeoutMs } = this.#options;
    const { acked, failure, retryAfterMs } =
      https === undefined
        ? await publishOverMqtt(client!, messages, { ...pacing, ackTimeoutMs })
        : await publishOverHttps(https, messages, pacing, refused);
    if (failure === 'timeout') {
      // A broker that stops acknowledging on a live socket is as good as gone: start afresh.
      this.#options.log.debug({ ackTimeoutMs }, 'No PUBACK in time; reconnecting.');
      await session.drop();
    }
    if (acked.length > 0 && failure === undefined) session.delivered();
    return sendResult({ acked, rejected: refused, failure, retryAfterMs });
  }

  #delivered(message: TelemetryMessage): void {
    this.messages += 1;
    this.billedUnits += message.billedUnits;
  }
}
