import { isBasicIngest, topicLimitViolation } from '../../src/upstream/aws/protocol/topics.js';

/**
 * IoT Core message-broker rules that differ from a generic MQTT broker
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits),
 * as pure checks the emulator's broker hooks apply.
 */
export const BROKER_LIMITS = {
  maxPayloadBytes: 128 * 1024,
  maxSubscriptionsPerConnection: 50,
  maxPublishesPerSecond: 100,
  minConnectIntervalMs: 1000,
  maxClientIdBytes: 128,
} as const;

/** Why IoT Core refuses this PUBLISH from a device, or undefined when the broker accepts it. */
export function publishViolation(packet: {
  topic: string;
  payload: Buffer;
  retain: boolean;
}): string | undefined {
  if (packet.payload.length > BROKER_LIMITS.maxPayloadBytes) {
    return `PAYLOAD_LIMIT_EXCEEDED: ${packet.payload.length} bytes; the limit is ${BROKER_LIMITS.maxPayloadBytes}`;
  }
  const topicViolation = topicLimitViolation(packet.topic);
  if (topicViolation !== undefined) return topicViolation;
  if (packet.retain && packet.topic.startsWith('$'))
    return 'retained messages are not allowed on reserved topics';
  return undefined;
}

/** Why IoT Core refuses this subscription filter, or undefined. Basic Ingest topics cannot be subscribed. */
export function subscribeViolation(filter: string, current: number): string | undefined {
  if (current >= BROKER_LIMITS.maxSubscriptionsPerConnection) {
    return `a connection may hold ${BROKER_LIMITS.maxSubscriptionsPerConnection} subscriptions`;
  }
  if (isBasicIngest(filter) || filter.startsWith('$aws/rules/'))
    return 'Basic Ingest topics cannot be subscribed';
  return topicLimitViolation(filter);
}

/**
 * MQTT topic matching as IoT Core does it: `+` one level, `#` this level and below — but unlike MQTT
 * 3.1.1 §4.7.1.2, `sensor/#` does **not** match `sensor` itself
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits).
 */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (const [i, level] of f.entries()) {
    if (level === '#') return t.length > i;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Publishes per connection in the current one-second window, and the most seen in any window: IoT Core
 * allows 100/s (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits); the emulator records the peak so tests
 * can assert the gateway stayed within it.
 */
export class PublishRate {
  #windowStart = 0;
  #count = 0;
  peak = 0;

  /** Count one publish at `now`; returns the count in its window (including it). */
  record(now: number): number {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    this.#count += 1;
    this.peak = Math.max(this.peak, this.#count);
    return this.#count;
  }
}
