import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { errorMessage } from '../../errors.js';
import type { TelemetryMessage } from './encode.js';
import { ExchangeGuard } from '../common/exchange-guard.js';
import type { HttpsPublisher } from './https-publisher.js';
import type { ReleaseSlot } from './publish-budget.js';

/** How far a send got: the gseqs delivered, and why it stopped early (absent when it did not). */
export interface PublishProgress {
  acked: number[];
  /** `timeout` when IoT Core stopped acknowledging on a live connection. */
  failure?: string;
  retryAfterMs?: number;
}

export interface Pacing {
  /** Paces publishes to the connection's publish budget; each slot is released once its exchange ends. */
  limiter: { take: (signal: AbortSignal) => Promise<ReleaseSlot> };
  signal: AbortSignal;
  /** Called once per message IoT Core acknowledged, for the counters. */
  onDelivered: (message: TelemetryMessage) => void;
}

/**
 * Publish every message at QoS 1, pipelined and paced, and wait for the PUBACKs. Stops at the first
 * failure (connection lost, abort, no PUBACK for `ackTimeoutMs`) and reports what was acknowledged.
 */
export async function publishOverMqtt(
  client: MqttClient,
  messages: readonly TelemetryMessage[],
  pacing: Pacing & { ackTimeoutMs: number },
): Promise<PublishProgress> {
  const acked: number[] = [];
  const guard = new ExchangeGuard(client, pacing.signal, pacing.ackTimeoutMs);
  // Slots of publishes still in flight: a lost connection never settles them (persistent session).
  const slots = new Set<ReleaseSlot>();
  try {
    const pubacks: Promise<void>[] = [];
    for (const message of messages) {
      const slot = pacing.limiter.take(pacing.signal);
      const paced = slot.then(
        () => undefined,
        () => 'aborted',
      );
      if ((await Promise.race([paced, guard.reason])) !== undefined) {
        void slot.then(
          (release) => release(),
          () => undefined,
        );
        break;
      }
      const release = await slot;
      slots.add(release);
      guard.touch();
      pubacks.push(
        client.publishAsync(message.topic, message.payload, publishOptions(client, message)).then(
          () => {
            release();
            for (const item of message.items) acked.push(item.gseq);
            pacing.onDelivered(message);
            guard.touch();
          },
          (e: unknown) => {
            release();
            guard.fail(`publish failed: ${errorMessage(e)}`);
          },
        ),
      );
    }
    const reason = await Promise.race([Promise.all(pubacks).then(() => guard.current), guard.reason]);
    // A copy: PUBACKs that straggle in after a failure must not change what we report.
    return reason === undefined ? { acked } : { acked: [...acked], failure: reason };
  } finally {
    for (const release of slots) release();
    guard.dispose();
  }
}

/** QoS 1; on MQTT 5 also the content type of a gzipped payload (3.1.1 has no place for it). */
function publishOptions(client: MqttClient, message: TelemetryMessage): IClientPublishOptions {
  if (message.contentType === undefined || client.options.protocolVersion !== 5) return { qos: 1 };
  return { qos: 1, properties: { contentType: message.contentType } };
}

/**
 * One POST per message, in order, paced like MQTT. A message IoT Core refuses for good (400, 413) adds its
 * readings to `refused` and the rest go on; auth, throttling and network failures stop the send.
 */
export async function publishOverHttps(
  https: HttpsPublisher,
  messages: readonly TelemetryMessage[],
  pacing: Pacing,
  refused: { gseq: number; reason: string }[],
): Promise<PublishProgress> {
  const acked: number[] = [];
  for (const message of messages) {
    let release: ReleaseSlot;
    try {
      release = await pacing.limiter.take(pacing.signal);
    } catch {
      return { acked, failure: 'aborted' };
    }
    const outcome = await https.publish(message, pacing.signal).finally(release);
    switch (outcome.kind) {
      case 'ok':
        for (const item of message.items) acked.push(item.gseq);
        pacing.onDelivered(message);
        continue;
      case 'reject':
        for (const item of message.items) refused.push({ gseq: item.gseq, reason: outcome.reason });
        continue;
      case 'auth':
        return { acked, failure: `not authorized: ${outcome.reason}` };
      case 'retry':
        return {
          acked,
          failure: outcome.reason,
          ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
        };
    }
  }
  return { acked };
}
