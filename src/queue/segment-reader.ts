import type { Logger } from '../logger.js';
import { encodeSeq } from './codec.js';
import type { Sublevel } from './open-database.js';
import type { StoreIo } from './route-storage.js';
import { decodeSegment, type SegmentItem } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';

/**
 * Decoded segments kept. Leases read the segment where the available items begin while settles read the
 * oldest stored one (for its `ts`); with several leases in flight those are often two different segments,
 * and a cache of one re-read and re-decoded both in turn.
 */
const CACHED_SEGMENTS = 4;

/**
 * Reads a route's segments, keeping the last few decoded: a segment never changes once written, and
 * successive leases, the head lookup after a settle, and eviction usually read the same ones again.
 */
export class SegmentReader {
  readonly #options: { route: string; segments: Sublevel<Buffer, Buffer>; io: StoreIo; log: Logger };
  /** By first seq, least recently used first. */
  readonly #decoded = new Map<number, readonly SegmentItem[]>();

  constructor(options: { route: string; segments: Sublevel<Buffer, Buffer>; io: StoreIo; log: Logger }) {
    this.#options = options;
  }

  /**
   * A stored segment's items; undefined when the segment is not stored (yet), none (logged) when its
   * bytes are not a segment.
   */
  async items(firstSeq: number): Promise<readonly SegmentItem[] | undefined> {
    const cached = this.#decoded.get(firstSeq);
    if (cached !== undefined) {
      this.#decoded.delete(firstSeq);
      this.#decoded.set(firstSeq, cached);
      return cached;
    }
    const { segments, io, log, route } = this.#options;
    const value = await segments.get(encodeSeq(firstSeq));
    if (value === undefined) return undefined;
    io.keysRead++;
    try {
      const items = decodeSegment(firstSeq, value);
      this.#decoded.set(firstSeq, items);
      if (this.#decoded.size > CACHED_SEGMENTS) this.#decoded.delete(this.#decoded.keys().next().value!);
      return items;
    } catch (e) {
      log.error(
        { route, firstSeq, err: String(e) },
        'A stored segment could not be decoded; its readings are skipped.',
      );
      return [];
    }
  }

  /**
   * The stored items above `after` that `index` does not list as removed (leased ones included), oldest
   * first or newest first, one segment's worth per step (a step per item would cost a promise each). Call
   * under the queue's head mutex: no segment may be deleted meanwhile.
   */
  async *available(
    index: SegmentIndex,
    after: number,
    isNewestFirst: boolean,
  ): AsyncGenerator<readonly SegmentItem[]> {
    for (const entry of index.after(after, isNewestFirst)) {
      const items = await this.items(entry.firstSeq);
      // Not written yet: neither is any later segment, as commits are written in order.
      if (items === undefined) {
        if (isNewestFirst) continue;
        return;
      }
      const run: SegmentItem[] = [];
      for (let at = firstAbove(items, after); at < items.length; at++) {
        const item = items[at]!;
        if (!entry.removed.has(item.seq)) run.push(item);
      }
      if (isNewestFirst) run.reverse();
      if (run.length > 0) yield run;
    }
  }

  /** Drop deleted segments from the cache. */
  forget(firstSeqs: readonly number[]): void {
    for (const firstSeq of firstSeqs) this.#decoded.delete(firstSeq);
  }
}

/** Index of the first item whose seq is above `seq` (items are in seq order). */
function firstAbove(items: readonly SegmentItem[], seq: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (items[middle]!.seq <= seq) low = middle + 1;
    else high = middle;
  }
  return low;
}
