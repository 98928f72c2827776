import type { Envelope } from '../../model.js';
import { splitBatch } from '../common/batch-payload.js';
import { billedUnits } from './protocol/billing.js';
import { topicLimitViolation, type TopicTemplate } from './protocol/topics.js';

/** How a telemetry payload is encoded: plain JSON, or the same JSON gzipped. */
export type TelemetryEncoding = 'json' | 'json+gzip';

/**
 * The content type of a gzipped payload, stated where the protocol has a place for it (an MQTT 5
 * property, the HTTPS publish's `contentType`); on MQTT 3.1.1 only the topic can tell, through `{encoding}`.
 */
export const GZIP_CONTENT_TYPE = 'application/gzip';

/** What `{encoding}` in the telemetry topic becomes: one topic level, free of MQTT wildcards. */
export const TOPIC_ENCODINGS: Readonly<Record<TelemetryEncoding, string>> = {
  json: 'json',
  'json+gzip': 'gzip',
};

/**
 * With gzip, a message gathers up to this many times `maxMessageBytes` of uncompressed JSON before it is
 * compressed: IoT Core limits and bills the compressed bytes, our readings compress 8–10×, and a slice that
 * does not fit is halved. It also bounds what a consumer inflates per message (≤ 512 KiB at the default).
 */
export const GZIP_RAW_PER_LIMIT = 4;

/** One PUBLISH (or HTTPS POST) of a batch: its topic, payload, the readings it carries and its cost. */
export interface TelemetryMessage {
  topic: string;
  payload: Buffer;
  /**
   * {@link GZIP_CONTENT_TYPE} for a gzipped payload; absent for plain JSON, the documented default (IoT Core
   * bills a stated content type with the payload).
   */
  contentType?: string;
  items: Envelope[];
  billedUnits: number;
}

export interface TelemetryPlan {
  messages: TelemetryMessage[];
  /** Readings that can never be published (too large alone, or a topic over IoT Core's limits). */
  refused: { gseq: number; reason: string }[];
}

export interface PlanOptions {
  gatewayId: string;
  route: string;
  telemetry: TopicTemplate;
  maxMessageBytes: number;
  /** Default `json`. */
  encoding?: TelemetryEncoding;
}

/**
 * Cut a leased batch into IoT Core messages: one topic per device (when the template has `{device}`),
 * each topic's readings packed greedily into payloads of at most `maxMessageBytes`, so messages fill
 * as many 5 KB billing units as the lease allows. The payload is the generic connector's batch format
 * (`{"gateway", "readings": [{gseq, device, ts, values…}]}`), so one decoder reads both; with `json+gzip`
 * it is that JSON gzipped, and `{encoding}` in the topic template becomes `gzip` instead of `json`. Pure.
 *
 * Order is kept within a device; across devices, messages go out in order of each device's first reading.
 */
export function planTelemetry(batch: readonly Envelope[], options: PlanOptions): TelemetryPlan {
  const byTopic = new Map<string, Envelope[]>();
  const refused: TelemetryPlan['refused'] = [];
  const encoding = options.encoding ?? 'json';
  for (const envelope of batch) {
    const topic = options.telemetry.expand({
      gateway: options.gatewayId,
      route: options.route,
      device: envelope.reading.device,
      encoding: TOPIC_ENCODINGS[encoding],
    });
    const violation = topicLimitViolation(topic);
    if (violation !== undefined) {
      refused.push({ gseq: envelope.gseq, reason: violation });
      continue;
    }
    let group = byTopic.get(topic);
    if (group === undefined) byTopic.set(topic, (group = []));
    group.push(envelope);
  }

  const messages: TelemetryMessage[] = [];
  const tooLarge = `reading alone exceeds maxMessageBytes (${options.maxMessageBytes})`;
  for (const [topic, group] of byTopic) {
    const split = splitBatch(options.gatewayId, group, options.maxMessageBytes, {
      gzip: encoding === 'json+gzip',
      maxRawBytes: options.maxMessageBytes * GZIP_RAW_PER_LIMIT,
    });
    const stated = encoding === 'json+gzip' ? { contentType: GZIP_CONTENT_TYPE } : {};
    for (const { items, payload } of split.messages) {
      messages.push({ topic, payload, ...stated, items, billedUnits: billedUnits(topic, payload.length) });
    }
    for (const envelope of split.oversized) refused.push({ gseq: envelope.gseq, reason: tooLarge });
  }
  return { messages, refused };
}
