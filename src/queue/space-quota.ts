import { Mutex } from './mutex.js';

/**
 * The storage budget shared by every route of one store (docs/architecture.md#queue: never fill the disk): a
 * byte quota
 * on stored items and a minimum of free space on the filesystem.
 */
export interface SpaceQuotaOptions {
  maxBytes: number;
  /** Keep at least this much free on the filesystem; 0 disables the check. */
  minFreeBytes: number;
  /** Free bytes on the filesystem; absent when there is no disk (the in-memory queue). */
  freeBytes?: () => Promise<number>;
  now: () => number;
  /** How long a free-space reading is trusted; statfs is not free, so it is not called per append. */
  freeBytesTtlMs?: number;
}

/** Why items cannot be stored right now. */
export type Shortfall = { reason: 'quota'; bytes: number } | { reason: 'diskFull'; bytes: number };

const DEFAULT_FREE_BYTES_TTL_MS = 1000;
/**
 * Disk bytes per stored byte, until LevelDB deletes the log that held them: written to the write-ahead log,
 * then again into a table when the memtable flushes.
 */
export const WRITE_AMPLIFICATION = 2;
/**
 * Room LevelDB needs beyond what the queue asks of it: a memtable flush writes a table of up to its write
 * buffer (4 MiB) while the log it replaces still exists, and a compaction writes its output before deleting
 * its inputs. Admissions stop this far above the floor so those never take the filesystem below it.
 */
export const LEVELDB_RESERVE_BYTES = 4 * 1024 ** 2;

export class SpaceQuota {
  readonly maxBytes: number;
  readonly #options: SpaceQuotaOptions;
  #usedBytes = 0;
  #freeBytes = Number.POSITIVE_INFINITY;
  #freeBytesCheckedAt = Number.NEGATIVE_INFINITY;
  /** Bytes taken since the last free-space reading: on disk already, or soon, but not in the reading. */
  #takenSinceReading = 0;
  #spaceWaiters: (() => void)[] = [];
  readonly #admissions = new Mutex();

  constructor(options: SpaceQuotaOptions) {
    this.maxBytes = options.maxBytes;
    this.#options = options;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** Count bytes as stored (on append, or when recounting at open). */
  take(bytes: number): void {
    this.#usedBytes += bytes;
    this.#takenSinceReading += bytes;
  }

  /** Count bytes as freed and wake appends waiting for space. */
  release(bytes: number): void {
    this.#usedBytes = Math.max(0, this.#usedBytes - bytes);
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  /** What stands in the way of storing `bytes` more, or null when they fit. */
  async shortfall(bytes: number): Promise<Shortfall | null> {
    const overQuota = this.#usedBytes + bytes - this.maxBytes;
    if (overQuota > 0) return { reason: 'quota', bytes: overQuota };
    // The reading is up to a second old and the bytes are not written yet: subtract what was taken since and
    // what this append adds, both as LevelDB will write them, and keep LevelDB's own reserve. Comparing the
    // raw reading with the floor let a fast fleet take the filesystem 1.4 MiB below it.
    const needBytes = WRITE_AMPLIFICATION * bytes + LEVELDB_RESERVE_BYTES + this.#options.minFreeBytes;
    if (this.#options.minFreeBytes > 0 && (await this.#estimatedFreeBytes()) < needBytes) {
      // Deleting does not return disk space at once (LevelDB compacts later), so ask to free what we add.
      return { reason: 'diskFull', bytes };
    }
    return null;
  }

  /**
   * Resolves when bytes are released, when the free-space reading may have changed, or when `signal`
   * aborts.
   */
  waitForSpace(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const wake = (): void => {
        clearTimeout(recheck);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const recheck = setTimeout(wake, this.#options.freeBytesTtlMs ?? DEFAULT_FREE_BYTES_TTL_MS);
      signal.addEventListener('abort', wake, { once: true });
      this.#spaceWaiters.push(wake);
    });
  }

  /**
   * Run admissions one at a time, so two appends never both count the same free bytes or evict for each
   * other.
   */
  serialize<T>(admission: () => Promise<T>): Promise<T> {
    return this.#admissions.run(admission);
  }

  /** The last free-space reading (renewed when older than the TTL) less what was taken since it. */
  async #estimatedFreeBytes(): Promise<number> {
    const { freeBytes, now } = this.#options;
    if (freeBytes === undefined) return Number.POSITIVE_INFINITY;
    const ttlMs = this.#options.freeBytesTtlMs ?? DEFAULT_FREE_BYTES_TTL_MS;
    if (now() - this.#freeBytesCheckedAt >= ttlMs) {
      this.#takenSinceReading = 0;
      this.#freeBytes = await freeBytes();
      this.#freeBytesCheckedAt = now();
    }
    return this.#freeBytes - WRITE_AMPLIFICATION * this.#takenSinceReading;
  }
}
