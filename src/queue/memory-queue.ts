import { FieldgateError } from '../errors.js';
import type { Reading } from '../model.js';
import { admit } from './admission.js';
import { encodeReading, storedBytes } from './codec.js';
import { ItemSignal } from './item-signal.js';
import { LeasePicker } from './lease-picker.js';
import type { DeadLetter, Lease, OverflowPolicy, Queue, QueueStats, Settlement } from './queue.js';
import { QueueCounters } from './queue-counters.js';
import { SpaceQuota } from './space-quota.js';

export interface MemoryQueueOptions {
  maxBytes: number;
  overflow: OverflowPolicy;
  /** 0 keeps readings forever. */
  ttlMs: number;
  now?: () => number;
}

interface StoredItem {
  reading: Reading;
  bytes: number;
}

/**
 * A `Queue` held in memory: the same semantics as the LevelDB queue (the contract suite runs both), without
 * durability — for unit tests of forwarders and the runtime. Sizes are counted as the LevelDB queue would
 * store them.
 */
export class MemoryQueue implements Queue {
  readonly #options: MemoryQueueOptions;
  readonly #now: () => number;
  readonly #quota: SpaceQuota;
  /** Every stored item, leased or not. Seqs are inserted in increasing order, so iteration is FIFO. */
  readonly #items = new Map<number, StoredItem>();
  readonly #leased = new Set<number>();
  readonly #leases = new Set<number>();
  readonly #deadLetters = new Map<number, DeadLetter>();
  readonly #counters = new QueueCounters();
  readonly #itemSignal = new ItemSignal();
  readonly #closing = new AbortController();
  #nextSeq = 1;
  #nextLeaseId = 1;

  constructor(options: MemoryQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#quota = new SpaceQuota({ maxBytes: options.maxBytes, minFreeBytes: 0, now: this.#now });
  }

  async append(readings: readonly Reading[]): Promise<number[]> {
    this.#assertOpen();
    const sizes = readings.map((reading) => storedBytes(encodeReading(reading)));
    const admission = await this.#quota.serialize(() =>
      admit({
        sizes,
        policy: this.#options.overflow,
        quota: this.#quota,
        evictOldest: (bytes, reason) => Promise.resolve(this.#evictOldest(bytes, reason)),
        signal: this.#closing.signal,
      }),
    );
    this.#counters.drop(admission.reason, admission.dropped);
    const seqs: number[] = [];
    for (const [index, reading] of readings.slice(0, admission.accepted).entries()) {
      const gseq = this.#nextSeq++;
      this.#items.set(gseq, { reading: structuredClone(reading), bytes: sizes[index] ?? 0 });
      seqs.push(gseq);
    }
    this.#counters.appended += seqs.length;
    if (seqs.length > 0) this.#itemSignal.notify();
    return seqs;
  }

  lease(maxItems: number, maxBytes: number, options: { newestFirst?: boolean } = {}): Promise<Lease | null> {
    return this.#whenOpen(() => this.#lease(maxItems, maxBytes, options.newestFirst === true));
  }

  #lease(maxItems: number, maxBytes: number, isNewestFirst: boolean): Lease | null {
    const picker = new LeasePicker({ maxItems, maxBytes, ttlMs: this.#options.ttlMs, now: this.#now() });
    const seqs = [...this.#items.keys()];
    if (isNewestFirst) seqs.reverse();
    for (const gseq of seqs) {
      const item = this.#items.get(gseq);
      if (item === undefined || this.#leased.has(gseq)) continue;
      const outcome = picker.offer(gseq, structuredClone(item.reading), item.bytes);
      if (outcome === 'full') break;
      if (outcome === 'expired') this.#remove(gseq, item, 'ttl');
    }
    if (picker.items.length === 0) return null;
    for (const { gseq } of picker.items) this.#leased.add(gseq);
    const lease: Lease = { id: this.#nextLeaseId++, items: picker.items, bytes: picker.bytes };
    this.#leases.add(lease.id);
    return lease;
  }

  settle(lease: Lease, settlement: Settlement): Promise<void> {
    return this.#whenOpen(() => this.#settle(lease, settlement));
  }

  #settle(lease: Lease, settlement: Settlement): void {
    if (!this.#leases.delete(lease.id)) {
      throw new FieldgateError('FG_INTERNAL', 'A lease was settled twice.', { context: { lease: lease.id } });
    }
    const acked = new Set(settlement.ack ?? []);
    const rejected = new Map((settlement.reject ?? []).map((r) => [r.gseq, r.reason]));
    let isAnyReturned = false;
    for (const { gseq, reading } of lease.items) {
      this.#leased.delete(gseq);
      const item = this.#items.get(gseq);
      if (item === undefined) continue;
      const reason = rejected.get(gseq);
      if (acked.has(gseq)) {
        this.#remove(gseq, item, undefined);
        this.#counters.acked++;
      } else if (reason !== undefined) {
        this.#remove(gseq, item, 'rejected');
        this.#deadLetters.set(gseq, { gseq, reading, reason, at: this.#now() });
      } else {
        isAnyReturned = true;
      }
    }
    if (isAnyReturned) this.#itemSignal.notify();
  }

  async waitForItems(signal: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.#items.size > this.#leased.size) return;
    await this.#itemSignal.wait(AbortSignal.any([signal, this.#closing.signal]));
  }

  stats(): QueueStats {
    const head = this.#items.values().next();
    return {
      depth: this.#items.size,
      bytes: this.#quota.usedBytes,
      inFlight: this.#leased.size,
      oldestAgeMs: head.done === true ? 0 : Math.max(0, this.#now() - head.value.reading.ts),
      deadLetters: this.#deadLetters.size,
      nextSeq: this.#nextSeq,
      ...this.#counters.snapshot(),
    };
  }

  deadLetters(limit = Number.POSITIVE_INFINITY): Promise<DeadLetter[]> {
    return this.#whenOpen(() =>
      [...this.#deadLetters.values()].slice(0, limit).map((d) => structuredClone(d)),
    );
  }

  /** Re-append dead letters (all, or the given seqs). They get new sequence numbers. */
  async replayDeadLetters(gseqs?: readonly number[]): Promise<number> {
    this.#assertOpen();
    const wanted = gseqs === undefined ? undefined : new Set(gseqs);
    const chosen = [...this.#deadLetters.values()].filter((d) => wanted?.has(d.gseq) ?? true);
    const appended = await this.append(chosen.map((d) => d.reading));
    // Under dropNewest the tail may be refused; those stay dead letters.
    for (const letter of chosen.slice(0, appended.length)) this.#deadLetters.delete(letter.gseq);
    return appended.length;
  }

  close(): Promise<void> {
    this.#closing.abort();
    return Promise.resolve();
  }

  #evictOldest(bytes: number, reason: 'quota' | 'diskFull'): number {
    let freedBytes = 0;
    for (const [gseq, item] of this.#items) {
      if (freedBytes >= bytes) break;
      if (this.#leased.has(gseq)) continue;
      this.#remove(gseq, item, reason);
      freedBytes += item.bytes;
    }
    return freedBytes;
  }

  #remove(
    gseq: number,
    item: StoredItem,
    reason: 'quota' | 'diskFull' | 'ttl' | 'rejected' | undefined,
  ): void {
    this.#items.delete(gseq);
    this.#quota.release(item.bytes);
    if (reason !== undefined) this.#counters.drop(reason, 1);
  }

  /** Runs `action` unless closed; a throw becomes a rejection, as the contract promises. */
  #whenOpen<T>(action: () => T): Promise<T> {
    return new Promise((resolve) => {
      this.#assertOpen();
      resolve(action());
    });
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new FieldgateError('FG_QUEUE_CLOSED', 'The queue is closed.');
  }
}
