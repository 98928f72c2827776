import type { Sender } from 'rhea';
import type { RateLimiter } from '../../common/rate-limiter.js';
import type { OutcomeTracker, Outcome } from './amqp-link.js';
import { BATCH_MESSAGE_FORMAT, encodeBatch, toAmqpMessage } from '../protocol/amqp-message.js';
import type { AzureUpstreamStats } from '../mqtt/azure-mqtt-upstream.js';
import { groupIntoBatches, type D2cMessage } from '../encode.js';

export type Refusal = Outcome & { kind: 'refused' };

export interface SendTransfersOptions {
  /** One slot per D2C message, taken before its transfer goes out. */
  limiter: RateLimiter;
  ackTimeoutMs: number;
  signal: AbortSignal;
  /** Counters the accepted messages are added to. */
  stats: AzureUpstreamStats;
  /** Called for every message of every transfer the hub accepted. */
  onAccepted: (message: D2cMessage) => void;
}

/**
 * Send D2C messages on one events link as the hub's batch transfers (≤ 256 KB each,
 * docs/clouds/azure-iot-hub.md#amqp-batches), without
 * waiting for one outcome before the next transfer. No transfer starts after a refusal arrived or after
 * `signal` aborted. Resolves once every started transfer has its outcome: with the first refusal (timeouts
 * and a dropped connection included), or undefined when all were accepted. Never rejects.
 */
export async function sendTransfers(
  link: { events: Sender; outcomes: OutcomeTracker },
  messages: readonly D2cMessage[],
  options: SendTransfersOptions,
): Promise<Refusal | undefined> {
  let refusal: Refusal | undefined;
  const outcomes: Promise<void>[] = [];
  for (const transfer of groupIntoBatches(messages)) {
    if (refusal !== undefined || !(await paced(transfer.length, options))) break;
    const delivery = link.events.send(
      encodeBatch(transfer.map(toAmqpMessage)),
      undefined,
      BATCH_MESSAGE_FORMAT,
    );
    outcomes.push(
      link.outcomes.outcome(delivery, options.ackTimeoutMs).then((outcome) => {
        if (outcome.kind === 'refused') {
          refusal ??= outcome;
          return;
        }
        for (const message of transfer) {
          options.onAccepted(message);
          options.stats.messages += 1;
          options.stats.readings += message.items.length;
          options.stats.billedUnits += message.billedUnits;
        }
      }),
    );
  }
  await Promise.all(outcomes);
  return refusal;
}

/** Take one rate-limiter slot per message; false when the send was aborted meanwhile. */
async function paced(messages: number, options: SendTransfersOptions): Promise<boolean> {
  try {
    for (let i = 0; i < messages; i += 1) await options.limiter.take(options.signal);
    return !options.signal.aborted;
  } catch {
    return false;
  }
}
