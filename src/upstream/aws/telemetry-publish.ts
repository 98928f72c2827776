import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { TelemetryMessage } from './encode.js';
import { publishPipelined } from '../common/pipelined-publish.js';
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

/** Publish every message over MQTT, pipelined and paced (see `publishPipelined`). */
export function publishOverMqtt(
  client: MqttClient,
  messages: readonly TelemetryMessage[],
  pacing: Pacing & { ackTimeoutMs: number },
): Promise<PublishProgress> {
  return publishPipelined(client, messages, {
    take: (signal) => pacing.limiter.take(signal),
    signal: pacing.signal,
    ackTimeoutMs: pacing.ackTimeoutMs,
    options: (message) => publishOptions(client, message),
    onAcked: pacing.onDelivered,
  });
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
