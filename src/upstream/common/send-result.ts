import type { SendResult } from '../upstream.js';

/** How far a send got: what the cloud acknowledged, what can never be sent, and why it broke off. */
export interface SendProgress {
  acked: number[];
  /** Items refused for good before or while sending (too large). */
  rejected: { gseq: number; reason: string }[];
  /** Why the send stopped early; absent when it did not. */
  failure?: string | undefined;
  retryAfterMs?: number | undefined;
}

/**
 * The `SendResult` for the forwarder: `retry` when the send broke off before anything was settled,
 * `partial` when some items were, `reject` when every item was refused, else `ok`.
 */
export function sendResult({ acked, rejected, failure, retryAfterMs }: SendProgress): SendResult {
  if (failure !== undefined) {
    if (acked.length > 0 || rejected.length > 0) return { kind: 'partial', acked, rejected };
    return { kind: 'retry', reason: failure, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (rejected.length === 0) return { kind: 'ok' };
  if (acked.length === 0) return { kind: 'reject', reason: rejected[0]!.reason };
  return { kind: 'partial', acked, rejected };
}
