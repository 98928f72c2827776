import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { errorMessage } from '../../errors.js';
import { ExchangeGuard } from './exchange-guard.js';

/** One message of a batch: where it goes, its bytes, and the queued items it carries. */
export interface BatchMessage {
  topic: string;
  payload: Buffer;
  items: readonly { gseq: number }[];
}

export interface PipelinedPacing<M extends BatchMessage> {
  /** Waits for the right to publish; may return a slot to release once that publish's exchange ends. */
  take: (signal: AbortSignal) => Promise<(() => void) | void>;
  signal: AbortSignal;
  /** How long the broker may acknowledge nothing before the send gives up (`timeout`). */
  ackTimeoutMs: number;
  /** Publish options per message; QoS 1 when absent. */
  options?: (message: M) => IClientPublishOptions;
  /** Called once per message the broker acknowledged, for the counters. */
  onAcked?: (message: M) => void;
}

/**
 * Publish every message at QoS 1, pipelined and paced by `take`, and wait for the PUBACKs. Stops at the
 * first failure: the connection closing, the signal aborting, a publish failing, or no PUBACK for
 * `ackTimeoutMs` (`timeout`: the broker stopped acknowledging on a live connection, which the caller should
 * drop). Reports the gseqs of the messages acknowledged before that, in acknowledgement order.
 */
export async function publishPipelined<M extends BatchMessage>(
  client: MqttClient,
  messages: readonly M[],
  pacing: PipelinedPacing<M>,
): Promise<{ acked: number[]; failure?: string }> {
  const acked: number[] = [];
  const guard = new ExchangeGuard(client, pacing.signal, pacing.ackTimeoutMs);
  // Slots of publishes still in flight: a lost connection never settles them (persistent session).
  const slots = new Set<() => void>();
  try {
    const pubacks: Promise<void>[] = [];
    for (const message of messages) {
      const slot = pacing.take(pacing.signal);
      const paced = slot.then(
        () => undefined,
        () => 'aborted',
      );
      if ((await Promise.race([paced, guard.reason])) !== undefined) {
        void slot.then(
          (release) => release?.(),
          () => undefined,
        );
        break;
      }
      const release = (await slot) ?? (() => undefined);
      slots.add(release);
      guard.touch();
      pubacks.push(
        client.publishAsync(message.topic, message.payload, pacing.options?.(message) ?? { qos: 1 }).then(
          () => {
            release();
            for (const item of message.items) acked.push(item.gseq);
            pacing.onAcked?.(message);
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
