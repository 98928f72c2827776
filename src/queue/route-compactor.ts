import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RootDatabase, Sublevel } from './open-database.js';
import type { StoreIo } from './route-storage.js';

/** Compact after this many deletes, so a long drain returns disk space as it goes... */
const COMPACT_AFTER_DELETES = 10_000;
/** ...or sooner, once a backlog of at least this many has fully drained. */
const COMPACT_WHEN_EMPTY_AFTER_DELETES = 1000;
/** Above every 8-byte sequence key: the end of a route's item range. */
const KEY_RANGE_END = Buffer.alloc(9, 0xff);

export interface RouteCompactorOptions {
  route: string;
  db: RootDatabase;
  items: Sublevel<Buffer, Buffer>;
  io: StoreIo;
  log: Logger;
}

/**
 * Returns a route's disk space after large drains (docs/architecture.md#queue). LevelDB only drops deleted
 * entries when
 * it compacts the files holding them, which a queue that stops writing may never trigger on its own.
 * Compactions run in the background, one at a time per route.
 */
export class RouteCompactor {
  readonly #options: {
    route: string;
    db: RootDatabase;
    items: Sublevel<Buffer, Buffer>;
    io: StoreIo;
    log: Logger;
  };
  #deletesSinceCompaction = 0;
  #compaction: Promise<void> | undefined;

  constructor(options: {
    route: string;
    db: RootDatabase;
    items: Sublevel<Buffer, Buffer>;
    io: StoreIo;
    log: Logger;
  }) {
    this.#options = options;
  }

  /** Record deletes that were written; may start a compaction of the route's item range. */
  noteDeletes(count: number, isQueueEmpty: boolean): void {
    this.#deletesSinceCompaction += count;
    const isDue =
      this.#deletesSinceCompaction >= COMPACT_AFTER_DELETES ||
      (isQueueEmpty && this.#deletesSinceCompaction >= COMPACT_WHEN_EMPTY_AFTER_DELETES);
    if (!isDue || this.#compaction !== undefined) return;
    this.#deletesSinceCompaction = 0;
    const { db, items, io, log, route } = this.#options;
    const start = items.prefixKey(Buffer.alloc(0), 'buffer');
    const end = items.prefixKey(KEY_RANGE_END, 'buffer');
    this.#compaction = db
      .compactRange(start, end)
      .then(
        () => {
          io.compactions++;
          log.debug({ route }, 'Compacted the queue after a drain.');
        },
        (e: unknown) =>
          log.warn({ route, err: errorMessage(e) }, 'Queue compaction failed; disk space returns later.'),
      )
      .finally(() => (this.#compaction = undefined));
  }

  /** Resolves when no compaction is running (before the database closes). */
  async idle(): Promise<void> {
    await this.#compaction;
  }
}
