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

export class SpaceQuota {
  readonly maxBytes: number;
  readonly #options: SpaceQuotaOptions;
  #usedBytes = 0;
  #freeBytes = Number.POSITIVE_INFINITY;
  #freeBytesCheckedAt = Number.NEGATIVE_INFINITY;
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
    if (this.#options.minFreeBytes > 0 && (await this.#currentFreeBytes()) < this.#options.minFreeBytes) {
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

  async #currentFreeBytes(): Promise<number> {
    const { freeBytes, now } = this.#options;
    if (freeBytes === undefined) return Number.POSITIVE_INFINITY;
    const ttlMs = this.#options.freeBytesTtlMs ?? DEFAULT_FREE_BYTES_TTL_MS;
    if (now() - this.#freeBytesCheckedAt >= ttlMs) {
      this.#freeBytes = await freeBytes();
      this.#freeBytesCheckedAt = now();
    }
    return this.#freeBytes;
  }
}
