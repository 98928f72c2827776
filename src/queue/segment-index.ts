/** What the index knows of one stored (or about to be stored) segment. */
export interface SegmentEntry {
  readonly firstSeq: number;
  /** Items in the segment; final once its commit is written. */
  count: number;
  /** Items removed (acked, dead-lettered, dropped) while the segment itself is still stored. */
  readonly removed: Set<number>;
  /** A removal mark is stored for the segment (see `planRemoval`). */
  hasMark: boolean;
}

/** A storage change a removal needs; the queue turns it into LevelDB operations. */
export type SegmentChange =
  | { kind: 'deleteSegment'; firstSeq: number; hasMark: boolean }
  | { kind: 'putMark'; firstSeq: number; deltas: number[] }
  | { kind: 'deleteMark'; firstSeq: number };

export interface RemovalPlan {
  changes: SegmentChange[];
  /** Segments the plan deletes, by first seq. */
  deleted: number[];
  /** Record the removal in memory; call only once its changes are written. */
  apply: () => void;
}

/**
 * One route's segments in memory, in sequence order, with the items removed from each
 * (docs/architecture.md#queue).
 * The readings themselves stay on disk. A segment is deleted when its last item is removed; until then a
 * removal is persisted either by the route's cursor (every item at or below it is gone) or, for items
 * above the cursor, by a mark record listing them, so a restart does not bring them back.
 */
export class SegmentIndex {
  readonly #entries: SegmentEntry[] = [];
  readonly #byFirstSeq = new Map<number, SegmentEntry>();

  /** Add a segment; segments are created in sequence order, so this is normally an append. */
  add(firstSeq: number, count = 0): SegmentEntry {
    const entry: SegmentEntry = { firstSeq, count, removed: new Set(), hasMark: false };
    const at = this.#upperBound(firstSeq);
    this.#entries.splice(at, 0, entry);
    this.#byFirstSeq.set(firstSeq, entry);
    return entry;
  }

  get(firstSeq: number): SegmentEntry | undefined {
    return this.#byFirstSeq.get(firstSeq);
  }

  /** Forget a segment (its commit failed, or it was deleted). */
  drop(firstSeq: number): void {
    const entry = this.#byFirstSeq.get(firstSeq);
    if (entry === undefined) return;
    this.#byFirstSeq.delete(firstSeq);
    this.#entries.splice(this.#entries.indexOf(entry), 1);
  }

  /** The first segment; every item before its first unremoved one is gone. */
  get first(): SegmentEntry | undefined {
    return this.#entries[0];
  }

  /** The first seq of the segment that holds `seq`, if one could: where a scan from `seq` starts. */
  floor(seq: number): number | undefined {
    return this.#entries[this.#upperBound(seq) - 1]?.firstSeq;
  }

  /**
   * The segments that may hold items above `seq`, in order (or newest first). Lazy: segments added while
   * iterating are seen going forward; none may be dropped while iterating.
   */
  *after(seq: number, isNewestFirst: boolean): Generator<SegmentEntry> {
    const start = Math.max(0, this.#upperBound(seq) - 1);
    if (isNewestFirst) {
      for (let at = this.#entries.length - 1; at >= start; at--) yield this.#entries[at]!;
    } else {
      for (let at = start; at < this.#entries.length; at++) yield this.#entries[at]!;
    }
  }

  /**
   * What removing `seqs` takes on disk, given the cursor written in the same batch: a segment whose items
   * are all gone is deleted; otherwise its removed items above the cursor are (re)written as its mark, and
   * a mark the cursor now covers entirely is deleted.
   */
  planRemoval(seqs: readonly number[], cursor: number): RemovalPlan {
    const touched = new Map<SegmentEntry, number[]>();
    for (const seq of seqs) {
      const firstSeq = this.floor(seq);
      const entry = firstSeq === undefined ? undefined : this.#byFirstSeq.get(firstSeq);
      if (entry === undefined) continue;
      const list = touched.get(entry);
      if (list === undefined) touched.set(entry, [seq]);
      else list.push(seq);
    }
    const changes: SegmentChange[] = [];
    const deleted: number[] = [];
    for (const [entry, removing] of touched) {
      // Not a merged copy of `entry.removed`: that grows to the segment's size, and settles are frequent.
      const added = new Set<number>();
      for (const seq of removing) if (!entry.removed.has(seq)) added.add(seq);
      if (entry.removed.size + added.size >= entry.count) {
        changes.push({ kind: 'deleteSegment', firstSeq: entry.firstSeq, hasMark: entry.hasMark });
        deleted.push(entry.firstSeq);
        continue;
      }
      const deltas: number[] = [];
      for (const seq of entry.removed) if (seq > cursor) deltas.push(seq - entry.firstSeq);
      for (const seq of added) if (seq > cursor) deltas.push(seq - entry.firstSeq);
      if (deltas.length > 0) changes.push({ kind: 'putMark', firstSeq: entry.firstSeq, deltas });
      else if (entry.hasMark) changes.push({ kind: 'deleteMark', firstSeq: entry.firstSeq });
    }
    const apply = (): void => {
      for (const [entry, removing] of touched) for (const seq of removing) entry.removed.add(seq);
      for (const change of changes) {
        if (change.kind === 'deleteSegment') this.drop(change.firstSeq);
        else {
          const entry = this.#byFirstSeq.get(change.firstSeq);
          if (entry !== undefined) entry.hasMark = change.kind === 'putMark';
        }
      }
    };
    return { changes, deleted, apply };
  }

  /** Index of the first entry whose first seq is above `seq`. */
  #upperBound(seq: number): number {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#entries[middle]?.firstSeq ?? 0) <= seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
