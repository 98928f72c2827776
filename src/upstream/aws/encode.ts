import type { Envelope } from '../../model.js';
import { splitBatch } from '../mqtt/encode.js';
import { billedUnits } from './billing.js';
import { topicLimitViolation, type TopicTemplate } from './topics.js';

/** One PUBLISH (or HTTPS POST) of a batch: its topic, payload, the readings it carries and its cost. */
export interface TelemetryMessage {
  topic: string;
  payload: Buffer;
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
}

/**
 * Cut a leased batch into IoT Core messages: one topic per device (when the template has `{device}`),
 * each topic's readings packed greedily into payloads of at most `maxMessageBytes`, so messages fill
 * as many 5 KB billing units as the lease allows. The payload is the generic connector's batch format
 * (`{"gateway", "readings": [{gseq, device, ts, values…}]}`), so one decoder reads both. Pure.
 *
 * Order is kept within a device; across devices, messages go out in order of each device's first reading.
 */
export function planTelemetry(batch: readonly Envelope[], options: PlanOptions): TelemetryPlan {
  const byTopic = new Map<string, Envelope[]>();
  const refused: TelemetryPlan['refused'] = [];
  for (const envelope of batch) {
    const topic = options.telemetry.expand({
      gateway: options.gatewayId,
      route: options.route,
      device: envelope.reading.device,
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
    const split = splitBatch(options.gatewayId, group, options.maxMessageBytes, { gzip: false });
    for (const { items, payload } of split.messages) {
      messages.push({ topic, payload, items, billedUnits: billedUnits(topic, payload.length) });
    }
    for (const envelope of split.oversized) refused.push({ gseq: envelope.gseq, reason: tooLarge });
  }
  return { messages, refused };
}
