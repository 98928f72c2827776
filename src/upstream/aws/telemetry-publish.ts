import type { MqttClient } from 'mqtt';
import { errorMessage } from '../../errors.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { TelemetryMessage } from './encode.js';
import { ExchangeGuard } from '../exchange-guard.js';
import type { HttpsPublisher } from './https-publisher.js';

/** How far a send got: the gseqs delivered, and why it stopped early (absent when it did not). */
export interface PublishProgress {
  acked: number[];
  /** `timeout` when IoT Core stopped acknowledging on a live connection. */
  failure?: string;
  retryAfterMs?: number;
}

export interface Pacing {
  /** Paces publishes to the connection's rate limit. */
  limiter: RateLimiter;
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
  try {
    const pubacks: Promise<void>[] = [];
    for (const message of messages) {
      const paced = pacing.limiter.take(pacing.signal).then(
        () => undefined,
        () => 'aborted',
      );
      if ((await Promise.race([paced, guard.reason])) !== undefined) break;
      guard.touch();
      pubacks.push(
        client.publishAsync(message.topic, message.payload, { qos: 1 }).then(
          () => {
            for (const item of message.items) acked.push(item.gseq);
            pacing.onDelivered(message);
            guard.touch();
          },
          (e: unknown) => guard.fail(`publish failed: ${errorMessage(e)}`),
        ),
      );
    }
    const reason = await Promise.race([Promise.all(pubacks).then(() => guard.current), guard.reason]);
    // A copy: PUBACKs that straggle in after a failure must not change what we report.
    return reason === undefined ? { acked } : { acked: [...acked], failure: reason };
  } finally {
    guard.dispose();
  }
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
    try {
      await pacing.limiter.take(pacing.signal);
    } catch {
      return { acked, failure: 'aborted' };
    }
    const outcome = await https.publish(message.topic, message.payload, pacing.signal);
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
