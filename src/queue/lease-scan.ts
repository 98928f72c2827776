import { tryDecodeReading } from './codec.js';
import type { LeasePicker } from './lease-picker.js';
import { itemBytes } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';
import type { SegmentReader } from './segment-reader.js';

/** An item to delete from the queue, with the quota bytes it frees. */
export interface Removal {
  gseq: number;
  bytes: number;
}

/** What one scan for a lease found, beside what it gave the picker. */
export interface LeaseScan {
  /** Items past their TTL: to be removed (counted `ttl`). */
  expired: Removal[];
  /** Stored items that no longer decode as a reading: to be removed (counted `rejected`) and logged. */
  damaged: Removal[];
  /** The last seq the scan passed; in FIFO order everything up to it is now leased or to be removed. */
  passed: number;
  /** False when the scan stopped early (the lease is full, or enough expired items to remove first). */
  isComplete: boolean;
}

/** Bound on one delete batch when a lease meets a long run of expired readings. */
const MAX_EXPIRED_PER_SCAN = 5000;

/**
 * Offer the items after `from` (oldest first, or newest first) to `picker` until it is full, skipping
 * leased ones. Every item is decoded, to find damage and to check its TTL; the lease keeps only its stored
 * bytes, so the decoded reading dies young.
 */
export async function scanForLease(options: {
  reader: SegmentReader;
  index: SegmentIndex;
  from: number;
  isNewestFirst: boolean;
  isLeased: (gseq: number) => boolean;
  picker: LeasePicker;
}): Promise<LeaseScan> {
  const { reader, index, from, isNewestFirst, isLeased, picker } = options;
  const scan: LeaseScan = { expired: [], damaged: [], passed: from, isComplete: true };
  for await (const run of reader.available(index, from, isNewestFirst)) {
    for (const item of run) {
      if (!isLeased(item.seq)) {
        const bytes = itemBytes(item);
        const reading = tryDecodeReading(item.value);
        if (reading === undefined) scan.damaged.push({ gseq: item.seq, bytes });
        else {
          const outcome = picker.offer(item.seq, reading, bytes, item.value);
          if (outcome === 'full') return { ...scan, isComplete: false };
          if (outcome === 'expired') scan.expired.push({ gseq: item.seq, bytes });
        }
      }
      scan.passed = item.seq;
      if (scan.expired.length >= MAX_EXPIRED_PER_SCAN) return { ...scan, isComplete: false };
    }
  }
  return scan;
}
