import type { Envelope, Reading } from '../model.js';
import { StoredEnvelope } from './codec.js';

export interface LeaseLimits {
  maxItems: number;
  maxBytes: number;
  /** Readings older than this (by `reading.ts`) are expired; 0 keeps them forever. */
  ttlMs: number;
  now: number;
}

/** What the picker did with one candidate. `full`: the lease is complete, stop offering. */
export type PickOutcome = 'taken' | 'expired' | 'full';

/**
 * Fills one lease from candidates offered in the order the lease wants them (oldest or newest first), the
 * same way for every queue implementation: up to `maxItems` and `maxBytes`, but always at least one item so
 * a single oversized reading cannot wedge the queue, and never an expired one.
 */
export class LeasePicker {
  readonly items: Envelope[] = [];
  readonly sizes: number[] = [];
  bytes = 0;
  readonly #limits: LeaseLimits;

  constructor(limits: LeaseLimits) {
    this.#limits = limits;
  }

  get isFull(): boolean {
    return this.items.length >= this.#limits.maxItems;
  }

  /**
   * `encoded`: the reading's stored bytes. When given, the lease holds those (`StoredEnvelope`), not
   * `reading`, which is then only checked for its TTL.
   */
  offer(gseq: number, reading: Reading, bytes: number, encoded?: Uint8Array): PickOutcome {
    const { ttlMs, now, maxBytes } = this.#limits;
    if (ttlMs > 0 && now - reading.ts > ttlMs) return 'expired';
    if (this.isFull || (this.items.length > 0 && this.bytes + bytes > maxBytes)) return 'full';
    this.items.push(encoded === undefined ? { gseq, reading } : new StoredEnvelope(gseq, encoded));
    this.sizes.push(bytes);
    this.bytes += bytes;
    return 'taken';
  }
}
