import { FieldgateError } from '../errors.js';
import { readingJson, type Reading } from '../model.js';
import { admit } from './admission.js';
import { decodeSeq, encodeSeq, SEQ_KEY_BYTES, tryDecodeReading } from './codec.js';
import { IngestPacer } from './ingest-pacer.js';
import { ItemSignal } from './item-signal.js';
import { LeasePicker } from './lease-picker.js';
import { scanForLease, type Removal } from './lease-scan.js';
import { Mutex } from './mutex.js';
import type { DeadLetter, DropReason, Lease, Queue, QueueStats, Settlement } from './queue.js';
import { QueueCounters } from './queue-counters.js';
import {
  loadRoute,
  routeKeyspaces,
  changeOps,
  type RouteKeyspaces,
  type RoutePosition,
  type StoredDeadLetter,
} from './route-load.js';
import type { RouteStorage, StoreOp } from './route-storage.js';
import { RouteCompactor } from './route-compactor.js';
import { encodeSegment, itemBytes, type PendingItem } from './segment-codec.js';
import { SegmentIndex } from './segment-index.js';
import { SegmentReader } from './segment-reader.js';

/** The segment collecting this route's appends for the group commit of `generation`. */
interface OpenSegment {
  firstSeq: number;
  generation: number;
  items: PendingItem[];
}

/**
 * One route's durable FIFO in the store's LevelDB database (docs/architecture.md#queue). Created by
 * `LevelQueueStore.queue()`.
 *
 * Storage: the readings a route appends in one group commit are one segment record (`segment-codec.ts`),
 * deleted when all of its items are gone; removals before that are persisted by the cursor or a mark
 * (`segment-index.ts`). Appends go through the store's group commit. Leases live in memory. Removals
 * (acks, dead letters, drops) are written directly, without fsync, with the route position in the same
 * batch: losing them to a power cut only redelivers items, which at-least-once allows.
 *
 * `availableFrom` is the in-memory head: every item that is neither leased nor removed has a higher seq.
 * The persisted cursor never passes it, nor the lowest leased seq.
 */
export class LevelQueue implements Queue {
  readonly #storage: RouteStorage;
  readonly #keyspaces: RouteKeyspaces;
  readonly #counters = new QueueCounters();
  readonly #itemSignal = new ItemSignal();
  readonly #pacer = new IngestPacer();
  /** Serializes lease, settle and eviction: each reads the head and then deletes from it. */
  readonly #headMutex = new Mutex();
  readonly #replayMutex = new Mutex();
  readonly #closing = new AbortController();
  readonly #compactor: RouteCompactor;
  /** seq → stored bytes of every leased item. */
  readonly #leased = new Map<number, number>();
  readonly #openLeases = new Set<number>();
  readonly #dropEpisodes = new Set<DropReason>();
  #index = new SegmentIndex();
  #openSegment: OpenSegment | undefined;
  readonly #reader: SegmentReader;
  #position: RoutePosition = { cursor: 0, lastSeq: 0 };
  #availableFrom = 0;
  #nextSeq = 1;
  /**
   * The highest sequence number whose append has committed. The stored position records this, never
   * `#nextSeq - 1`: numbers handed to appends still waiting for their commit would otherwise survive a crash
   * as a gap, and a gap must mean a loss to the cloud side.
   */
  #committedSeq = 0;
  #nextLeaseId = 1;
  #depth = 0;
  #bytes = 0;
  #deadLetterCount = 0;
  /** Items counted in `#depth` whose commit has not been written yet: not leasable. */
  #uncommitted = 0;
  /** The first stored item and its `ts`, refreshed when it is removed; stats() must not touch the disk. */
  #head: { seq: number; ts: number | undefined } | undefined;

  private constructor(storage: RouteStorage) {
    this.#storage = storage;
    this.#keyspaces = routeKeyspaces(storage);
    this.#compactor = new RouteCompactor({ ...storage, items: this.#keyspaces.segments });
    this.#reader = new SegmentReader({ ...storage, segments: this.#keyspaces.segments });
  }

  /** Load the route's position and recount its items (their bytes join the store's quota). */
  static async open(storage: RouteStorage): Promise<LevelQueue> {
    const queue = new LevelQueue(storage);
    await queue.#load();
    return queue;
  }

  async #load(): Promise<void> {
    const loaded = await loadRoute(this.#keyspaces, this.#storage);
    this.#position = loaded.position;
    this.#index = loaded.index;
    this.#availableFrom = loaded.position.cursor;
    this.#nextSeq = loaded.lastSeq + 1;
    this.#committedSeq = loaded.lastSeq;
    this.#depth = loaded.depth;
    this.#bytes = loaded.bytes;
    this.#head = loaded.head;
    this.#deadLetterCount = loaded.deadLetters;
    this.#storage.quota.take(this.#bytes);
  }

  async append(readings: readonly Reading[]): Promise<number[]> {
    this.#assertOpen();
    await this.#pacer.pace(this.#depth - this.#leased.size, this.#closing.signal);
    this.#assertOpen();
    // Kept as strings until the commit writes them into the segment: no buffer per reading.
    const json = readings.map(readingJson);
    const byteLengths = json.map((text) => Buffer.byteLength(text));
    const sizes = byteLengths.map((length) => SEQ_KEY_BYTES + length);
    const { quota } = this.#storage;
    const admission = await quota.serialize(() =>
      admit({
        sizes,
        policy: this.#storage.overflow,
        quota,
        evictOldest: (bytes, reason) => this.#headMutex.run(() => this.#evictOldest(bytes, reason)),
        signal: this.#closing.signal,
      }),
    );
    this.#noteAdmission(admission.reason, admission.dropped);
    const accepted = json.slice(0, admission.accepted);
    if (accepted.length === 0) return [];

    const seqs = accepted.map(() => this.#nextSeq++);
    const bytes = sizes.slice(0, accepted.length).reduce((total, size) => total + size, 0);
    const { segment, ops } = this.#joinSegment(seqs[0] ?? 0);
    accepted.forEach((text, index) =>
      segment.items.push({ seq: seqs[index] ?? 0, json: text, byteLength: byteLengths[index] ?? 0 }),
    );
    const entry = this.#index.get(segment.firstSeq);
    if (entry !== undefined) entry.count += seqs.length;
    // Counted before the commit so the quota holds them while they wait for it.
    this.#depth += seqs.length;
    this.#bytes += bytes;
    this.#uncommitted += seqs.length;
    try {
      await this.#storage.groupCommit.submit(ops, seqs.length);
    } catch (e) {
      // The whole commit failed, so nothing of the segment is stored.
      this.#counters.drop('writeFailed', seqs.length);
      this.#index.drop(segment.firstSeq);
      if (this.#openSegment === segment) this.#openSegment = undefined;
      this.#depth -= seqs.length;
      this.#bytes -= bytes;
      quota.release(bytes);
      throw e;
    } finally {
      this.#uncommitted -= seqs.length;
    }
    this.#committedSeq = Math.max(this.#committedSeq, seqs[seqs.length - 1] ?? 0);
    this.#head ??= { seq: seqs[0] ?? 0, ts: readings[0]?.ts };
    this.#counters.appended += seqs.length;
    this.#itemSignal.notify();
    return seqs;
  }

  /**
   * The segment this append's items go into: the route's segment of the commit now being collected, or a
   * new one starting at `firstSeq`, whose put (built when the commit is written) is in `ops`.
   */
  #joinSegment(firstSeq: number): { segment: OpenSegment; ops: (() => StoreOp)[] } {
    const { generation } = this.#storage.groupCommit;
    const open = this.#openSegment;
    if (open !== undefined && open.generation === generation) return { segment: open, ops: [] };
    const segment: OpenSegment = { firstSeq, generation, items: [] };
    this.#openSegment = segment;
    this.#index.add(firstSeq);
    const segments = this.#keyspaces.segments;
    const build = (): StoreOp => ({
      type: 'put',
      sublevel: segments,
      key: encodeSeq(firstSeq),
      value: encodeSegment(firstSeq, segment.items),
    });
    return { segment, ops: [build] };
  }

  lease(maxItems: number, maxBytes: number, options: { newestFirst?: boolean } = {}): Promise<Lease | null> {
    return this.#whenOpen(() =>
      this.#headMutex.run(() => this.#lease(maxItems, maxBytes, options.newestFirst === true)),
    );
  }

  settle(lease: Lease, settlement: Settlement): Promise<void> {
    return this.#whenOpen(() => this.#headMutex.run(() => this.#settle(lease, settlement)));
  }

  async waitForItems(signal: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.#depth - this.#uncommitted > this.#leased.size) return;
    await this.#itemSignal.wait(AbortSignal.any([signal, this.#closing.signal]));
  }

  stats(): QueueStats {
    const headTs = this.#head?.ts;
    const isEmpty = this.#depth === 0 || headTs === undefined;
    return {
      depth: this.#depth,
      bytes: this.#bytes,
      inFlight: this.#leased.size,
      oldestAgeMs: isEmpty ? 0 : Math.max(0, this.#storage.now() - headTs),
      deadLetters: this.#deadLetterCount,
      nextSeq: this.#nextSeq,
      ...this.#counters.snapshot(),
    };
  }

  deadLetters(limit?: number): Promise<DeadLetter[]> {
    return this.#whenOpen(async () => {
      const letters: DeadLetter[] = [];
      for await (const [key, letter] of this.#keyspaces.dead.iterator(limit === undefined ? {} : { limit })) {
        letters.push({ gseq: decodeSeq(key), ...letter });
      }
      return letters;
    });
  }

  /**
   * Re-append dead letters (all, or those with the given seqs) and delete them from the dead letters. They
   * get new sequence numbers. A crash between the two steps leaves a copy in both places (at-least-once).
   */
  replayDeadLetters(gseqs?: readonly number[]): Promise<number> {
    return this.#whenOpen(() => this.#replayMutex.run(() => this.#replay(gseqs)));
  }

  /** Commit pending appends, wait for running leases, settles and compaction; then refuse every call. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await this.#storage.groupCommit.flush();
    await this.#headMutex.run(() => Promise.resolve());
    await this.#compactor.idle();
  }

  async #lease(maxItems: number, maxBytes: number, isNewestFirst: boolean): Promise<Lease | null> {
    const { ttlMs, now } = this.#storage;
    for (;;) {
      const picker = new LeasePicker({ maxItems, maxBytes, ttlMs, now: now() });
      const { expired, damaged, passed, isComplete } = await scanForLease({
        reader: this.#reader,
        index: this.#index,
        from: this.#availableFrom,
        isNewestFirst,
        isLeased: (gseq) => this.#leased.has(gseq),
        picker,
      });
      // Everything a FIFO scan passed is now leased or removed; a newest-first scan says nothing of the head.
      if (!isNewestFirst) this.#availableFrom = passed;
      picker.items.forEach(({ gseq }, index) => this.#leased.set(gseq, picker.sizes[index] ?? 0));
      await this.#remove([...expired, ...damaged], [], () => {
        this.#counters.drop('ttl', expired.length);
        this.#counters.drop('rejected', damaged.length);
      });
      if (damaged.length > 0) {
        this.#storage.log.error(
          { route: this.#storage.route, gseqs: damaged.map((d) => d.gseq) },
          'Stored readings could not be decoded and were dropped.',
        );
      }
      if (picker.items.length > 0) {
        const lease: Lease = { id: this.#nextLeaseId++, items: picker.items, bytes: picker.bytes };
        this.#openLeases.add(lease.id);
        this.#pacer.noteLease();
        return lease;
      }
      if (isComplete) return null;
    }
  }

  async #settle(lease: Lease, settlement: Settlement): Promise<void> {
    if (!this.#openLeases.delete(lease.id)) {
      throw new FieldgateError('FG_INTERNAL', 'A lease was settled twice.', { context: { lease: lease.id } });
    }
    const acked = new Set(settlement.ack ?? []);
    const rejected = new Map((settlement.reject ?? []).map((r) => [r.gseq, r.reason]));
    const removals: Removal[] = [];
    const deadLetterOps: StoreOp[] = [];
    let lowestReturned = Number.POSITIVE_INFINITY;
    // `item.reading` only for dead letters: a stored envelope decodes it when read.
    for (const item of lease.items) {
      const { gseq } = item;
      const bytes = this.#leased.get(gseq) ?? 0;
      this.#leased.delete(gseq);
      const reason = rejected.get(gseq);
      if (acked.has(gseq)) removals.push({ gseq, bytes });
      else if (reason !== undefined) {
        removals.push({ gseq, bytes });
        const letter: StoredDeadLetter = { reading: item.reading, reason, at: this.#storage.now() };
        deadLetterOps.push({
          type: 'put',
          sublevel: this.#keyspaces.dead,
          key: encodeSeq(gseq),
          value: letter,
        });
      } else lowestReturned = Math.min(lowestReturned, gseq);
    }
    if (lowestReturned !== Number.POSITIVE_INFINITY) {
      this.#availableFrom = Math.min(this.#availableFrom, lowestReturned - 1);
    }
    try {
      await this.#remove(removals, deadLetterOps, () => {
        this.#counters.acked += removals.length - deadLetterOps.length;
        this.#counters.drop('rejected', deadLetterOps.length);
        this.#deadLetterCount += deadLetterOps.length;
      });
    } catch (e) {
      // Nothing of the settlement was stored (the write failed): the whole lease is available again, to be
      // sent and settled again rather than stuck neither leased nor available until a restart.
      for (const { gseq } of lease.items) lowestReturned = Math.min(lowestReturned, gseq);
      this.#availableFrom = Math.min(this.#availableFrom, lowestReturned - 1);
      this.#itemSignal.notify();
      throw e;
    }
    if (lowestReturned !== Number.POSITIVE_INFINITY) this.#itemSignal.notify();
  }

  /** Remove unleased items from the head until `bytes` are freed (policy `dropOldest`). */
  async #evictOldest(bytes: number, reason: 'quota' | 'diskFull'): Promise<number> {
    const evicted: Removal[] = [];
    let freedBytes = 0;
    let passed = this.#availableFrom;
    scan: for await (const run of this.#reader.available(this.#index, this.#availableFrom, false)) {
      for (const item of run) {
        if (freedBytes >= bytes) break scan;
        passed = item.seq;
        if (this.#leased.has(item.seq)) continue;
        evicted.push({ gseq: item.seq, bytes: itemBytes(item) });
        freedBytes += itemBytes(item);
      }
    }
    this.#availableFrom = passed;
    await this.#remove(evicted, [], () => this.#counters.drop(reason, evicted.length));
    return freedBytes;
  }

  /**
   * Remove items (with `extraOps` and the new position, atomically) and release their bytes. `count` records
   * where they went (acked, dropped…) in the same step that takes them off `depth`, before any further
   * await: `stats()` is read at any moment, and depth plus those counters must not dip in between.
   */
  async #remove(removals: readonly Removal[], extraOps: StoreOp[], count: () => void): Promise<void> {
    if (removals.length === 0 && extraOps.length === 0) return;
    const position = this.#nextPosition();
    const plan = this.#index.planRemoval(
      removals.map((removal) => removal.gseq),
      position.cursor,
    );
    const ops = plan.changes.flatMap((change) => changeOps(this.#keyspaces, change));
    ops.push(...extraOps, { type: 'put', sublevel: this.#keyspaces.meta, key: 'position', value: position });
    await this.#storage.db.batch(ops, { sync: false });
    plan.apply();
    this.#reader.forget(plan.deleted);
    this.#position = position;
    const bytes = removals.reduce((total, removal) => total + removal.bytes, 0);
    this.#depth -= removals.length;
    this.#bytes -= bytes;
    this.#storage.quota.release(bytes);
    count();
    this.#pacer.noteBacklog(this.#depth - this.#leased.size);
    if (this.#head === undefined || removals.some((removal) => removal.gseq === this.#head?.seq)) {
      await this.#refreshHead();
    }
    this.#compactor.noteDeletes(removals.length, this.#depth === 0);
  }

  #nextPosition(): RoutePosition {
    let lowestLeased = Number.POSITIVE_INFINITY;
    for (const gseq of this.#leased.keys()) lowestLeased = Math.min(lowestLeased, gseq);
    const cursor = Math.max(this.#position.cursor, Math.min(lowestLeased - 1, this.#availableFrom));
    return { cursor, lastSeq: this.#committedSeq };
  }

  /** Find the first stored item (the first unremoved item of the first segment) and its `ts`. */
  async #refreshHead(): Promise<void> {
    this.#head = undefined;
    const first = this.#index.first;
    if (first === undefined) return;
    const items = await this.#reader.items(first.firstSeq);
    if (items === undefined) return; // its commit is not written yet
    const item = items.find((i) => !first.removed.has(i.seq));
    if (item !== undefined) this.#head = { seq: item.seq, ts: tryDecodeReading(item.value)?.ts };
  }

  async #replay(gseqs: readonly number[] | undefined): Promise<number> {
    const letters = await this.deadLetters();
    const wanted = gseqs === undefined ? undefined : new Set(gseqs);
    const chosen = letters.filter((letter) => wanted?.has(letter.gseq) ?? true);
    const appended = await this.append(chosen.map((letter) => letter.reading));
    // Under dropNewest the tail may be refused; those stay dead letters.
    const replayed = chosen.slice(0, appended.length);
    await this.#keyspaces.dead.batch(
      replayed.map((letter) => ({ type: 'del', key: encodeSeq(letter.gseq) })),
    );
    this.#deadLetterCount -= replayed.length;
    return replayed.length;
  }

  /** Count drops, and log at error once per episode of dropping rather than once per append. */
  #noteAdmission(reason: 'quota' | 'diskFull', dropped: number): void {
    const { log, route } = this.#storage;
    if (dropped === 0) {
      if (this.#dropEpisodes.size > 0) log.info({ route }, 'Queue has room again; readings are stored.');
      this.#dropEpisodes.clear();
      return;
    }
    this.#counters.drop(reason, dropped);
    if (this.#dropEpisodes.has(reason)) return;
    this.#dropEpisodes.add(reason);
    log.error(
      { route, reason, policy: this.#storage.overflow },
      'Queue is full; readings are being dropped.',
    );
  }

  /** Runs `action` unless closed; a throw becomes a rejection, as the contract promises. */
  #whenOpen<T>(action: () => Promise<T>): Promise<T> {
    return new Promise((resolve) => {
      this.#assertOpen();
      resolve(action());
    });
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new FieldgateError('FG_QUEUE_CLOSED', 'The queue is closed.');
  }
}
