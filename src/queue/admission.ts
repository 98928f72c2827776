import { FieldgateError } from '../errors.js';
import type { DropReason, OverflowPolicy } from './queue.js';
import type { SpaceQuota } from './space-quota.js';

export interface AdmissionRequest {
  /** Stored size of each incoming item, in append order. */
  sizes: readonly number[];
  policy: OverflowPolicy;
  quota: SpaceQuota;
  /** Delete unleased items from the head of the appending route until `bytes` are freed; returns bytes freed. */
  evictOldest: (bytes: number, reason: 'quota' | 'diskFull') => Promise<number>;
  /** Aborts a `block` wait when the queue closes. */
  signal: AbortSignal;
}

export interface Admission {
  /** How many items, from the front of the request, may be stored. Their bytes are already taken. */
  accepted: number;
  /** Items refused from the back of the request, and why. */
  dropped: number;
  reason: Extract<DropReason, 'quota' | 'diskFull'>;
}

/**
 * Apply the overflow policy (docs/architecture.md#queue) to one append. Call inside `quota.serialize`. Under
 * `block` it
 * waits for space and rejects with `FG_QUEUE_CLOSED` when `signal` aborts; items that could not fit even in
 * an empty store are dropped rather than waited for forever.
 */
export async function admit(request: AdmissionRequest): Promise<Admission> {
  const { quota, policy, signal } = request;
  const fitting = prefixWithin(request.sizes, quota.maxBytes);
  let reason: Admission['reason'] = 'quota';
  for (;;) {
    const accepted = policy === 'block' ? fitting : request.sizes.length;
    const bytes = sum(request.sizes, accepted);
    const shortfall = await quota.shortfall(bytes);
    if (shortfall === null) return take(quota, request.sizes, accepted, reason);
    reason = shortfall.reason;
    switch (policy) {
      case 'dropNewest':
        return take(
          quota,
          request.sizes,
          shortfall.reason === 'quota' ? prefixWithin(request.sizes, quota.maxBytes - quota.usedBytes) : 0,
          reason,
        );
      case 'dropOldest': {
        const freedBytes = await request.evictOldest(shortfall.bytes, shortfall.reason);
        const roomBytes = shortfall.reason === 'quota' ? quota.maxBytes - quota.usedBytes : freedBytes;
        return take(quota, request.sizes, prefixWithin(request.sizes, roomBytes), reason);
      }
      case 'block':
        await quota.waitForSpace(signal);
        if (signal.aborted)
          throw new FieldgateError('FG_QUEUE_CLOSED', 'The queue closed while an append waited for space.');
        break;
    }
  }
}

function take(
  quota: SpaceQuota,
  sizes: readonly number[],
  accepted: number,
  reason: Admission['reason'],
): Admission {
  quota.take(sum(sizes, accepted));
  return { accepted, dropped: sizes.length - accepted, reason };
}

/** How many items from the front fit in `bytes`. */
function prefixWithin(sizes: readonly number[], bytes: number): number {
  let total = 0;
  for (const [index, size] of sizes.entries()) {
    total += size;
    if (total > bytes) return index;
  }
  return sizes.length;
}

function sum(sizes: readonly number[], count: number): number {
  let total = 0;
  for (let index = 0; index < count; index++) total += sizes[index] ?? 0;
  return total;
}
