import type { Envelope, Reading } from '../model.js';

export type OverflowPolicy = 'dropOldest' | 'dropNewest' | 'block';
/**
 * `quota`/`diskFull`: the overflow policy at the byte quota or the free-space watermark; `ttl`: expired
 * before delivery; `rejected`: refused by the upstream and not kept; `writeFailed`: their commit failed (the
 * filesystem full, an I/O error), so they were never stored.
 */
export type DropReason = 'quota' | 'diskFull' | 'ttl' | 'rejected' | 'writeFailed';

/** A batch handed to a forwarder. Items stay invisible to other leases until settled or the process dies. */
export interface Lease {
  readonly id: number;
  readonly items: readonly Envelope[];
  /** Approximate encoded size of the items, in bytes. */
  readonly bytes: number;
}

/**
 * How a lease ends. `ack`: delivered, delete. `reject`: permanently refused, move to the dead-letter
 * keyspace with `reason`. Anything in the lease that is in neither list goes back to the head of the queue,
 * in its original order, and is leased again first.
 */
export interface Settlement {
  ack?: readonly number[];
  reject?: readonly { gseq: number; reason: string }[];
}

export interface DeadLetter {
  gseq: number;
  reading: Reading;
  reason: string;
  /** Epoch ms when the item was dead-lettered. */
  at: number;
}

export interface QueueStats {
  /** Items stored and not yet acknowledged (leased ones included). */
  depth: number;
  /** Bytes of stored items (approximate: key + value sizes). */
  bytes: number;
  /** Items currently leased. */
  inFlight: number;
  /** Age in ms of the oldest stored item, 0 when empty. */
  oldestAgeMs: number;
  /** Items dropped since start, by reason. */
  dropped: Record<DropReason, number>;
  deadLetters: number;
  /** Items appended since start. */
  appended: number;
  /** Items acknowledged since start. */
  acked: number;
  /** The next gateway sequence number that will be assigned. */
  nextSeq: number;
}

/**
 * One route's durable FIFO (docs/architecture.md#queue).
 *
 * Concurrency: any number of `append` calls may be in flight; `lease`/`settle` are called by one forwarder.
 * After `close()` resolves, every other method rejects with `FG_QUEUE_CLOSED`.
 */
export interface Queue {
  /**
   * Store readings. Resolves with their gateway sequence numbers only when they are durable per the commit
   * policy (group commit). Under the `block` policy it waits for space; under `dropNewest` it resolves with
   * fewer numbers (the dropped ones counted); under `dropOldest` it evicts from the head.
   */
  append(readings: readonly Reading[]): Promise<number[]>;
  /**
   * Take up to `maxItems` items totalling at most `maxBytes` (at least one item if any is available), in
   * FIFO order, or the newest ones first when `newestFirst`. Items whose TTL has passed are dropped here
   * (reason `ttl`). Resolves with null when nothing is available.
   */
  lease(maxItems: number, maxBytes: number, options?: { newestFirst?: boolean }): Promise<Lease | null>;
  settle(lease: Lease, settlement: Settlement): Promise<void>;
  /** Resolves when at least one unleased item is available, or when `signal` aborts. */
  waitForItems(signal: AbortSignal): Promise<void>;
  stats(): QueueStats;
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Move dead letters (all, or the given ones) back into the queue; resolves with how many moved. */
  replayDeadLetters(gseqs?: readonly number[]): Promise<number>;
  close(): Promise<void>;
}
