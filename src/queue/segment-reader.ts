import type { Logger } from '../logger.js';
import { encodeSeq } from './codec.js';
import type { Sublevel } from './open-database.js';
import type { StoreIo } from './route-storage.js';
import { decodeSegment, type SegmentItem } from './segment-codec.js';
import type { SegmentIndex } from './segment-index.js';

/**
 * Reads a route's segments, keeping the last one decoded: a segment never changes once written, and
 * successive leases, the head lookup after a settle, and eviction usually read the same one again.
 */
export class SegmentReader {
  readonly #options: { route: string; segments: Sublevel<Buffer, Buffer>; io: StoreIo; log: Logger };
  #decoded: { firstSeq: number; items: readonly SegmentItem[] } | undefined;

  constructor(options: { route: string; segments: Sublevel<Buffer, Buffer>; io: StoreIo; log: Logger }) {
    this.#options = options;
  }

  /**
   * A stored segment's items; undefined when the segment is not stored (yet), none (logged) when its
   * bytes are not a segment.
   */
  async items(firstSeq: number): Promise<readonly SegmentItem[] | undefined> {
    if (this.#decoded?.firstSeq === firstSeq) return this.#decoded.items;
    const { segments, io, log, route } = this.#options;
    const value = await segments.get(encodeSeq(firstSeq));
    if (value === undefined) return undefined;
    io.keysRead++;
    try {
      this.#decoded = { firstSeq, items: decodeSegment(firstSeq, value) };
      return this.#decoded.items;
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
   * first or newest first. Call under the queue's head mutex: no segment may be deleted meanwhile.
   */
  async *available(index: SegmentIndex, after: number, isNewestFirst: boolean): AsyncGenerator<SegmentItem> {
    for (const entry of index.after(after, isNewestFirst)) {
      const items = await this.items(entry.firstSeq);
      // Not written yet: neither is any later segment, as commits are written in order.
      if (items === undefined) {
        if (isNewestFirst) continue;
        return;
      }
      for (let at = 0; at < items.length; at++) {
        const item = items[isNewestFirst ? items.length - 1 - at : at];
        if (item !== undefined && item.seq > after && !entry.removed.has(item.seq)) yield item;
      }
    }
  }

  /** Drop deleted segments from the cache. */
  forget(firstSeqs: readonly number[]): void {
    if (this.#decoded !== undefined && firstSeqs.includes(this.#decoded.firstSeq)) this.#decoded = undefined;
  }
}
