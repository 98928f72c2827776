import { ClassicLevel, type DatabaseOptions } from 'classic-level';
import type { WriteGuard } from './write-guard.js';

/** classic-level's own write implementations, which abstract-level calls after encoding (not in its types). */
interface WriteImplementation {
  _put(key: Buffer, value: Buffer, options: unknown): Promise<void>;
  _del(key: Buffer, options: unknown): Promise<void>;
  _batch(operations: unknown[], options: unknown): Promise<void>;
  _clear(options: unknown): Promise<void>;
}

const classic = ClassicLevel.prototype as unknown as WriteImplementation;

/**
 * LevelDB's table-cache size in open files. classic-level defaults to 1000, a quarter of a systemd unit's
 * descriptors; the queue keeps few table files hot (it reads the head and writes the tail), so a small cache
 * costs little and leaves the descriptors to the rest of the daemon (see `src/control/fd-budget.ts`).
 */
export const QUEUE_MAX_OPEN_FILES = 96;

/**
 * The queue's LevelDB database. Every write — put, del, batch and clear, of the root and of every sublevel
 * (sublevels forward to the root) — runs through `guard` (see `WriteGuard` for why). Chained batches are not
 * guarded: nothing in fieldgate uses them.
 */
export class GuardedLevel extends ClassicLevel<Buffer, Buffer> {
  #guard: WriteGuard | undefined;

  constructor(dir: string, options: DatabaseOptions<Buffer, Buffer>) {
    super(dir, { maxOpenFiles: QUEUE_MAX_OPEN_FILES, ...options });
  }

  /** Set once, before the store hands the database out; writes before that (at open) are not guarded. */
  guardWith(guard: WriteGuard): void {
    this.#guard = guard;
  }

  /** A write straight to LevelDB, around the guard: for the guard's own probe. */
  unguardedPut(key: Buffer, value: Buffer, options: { sync: boolean }): Promise<void> {
    return classic._put.call(this, key, value, options);
  }

  async _put(key: Buffer, value: Buffer, options: unknown): Promise<void> {
    return this.#guarded(() => classic._put.call(this, key, value, options));
  }

  async _del(key: Buffer, options: unknown): Promise<void> {
    return this.#guarded(() => classic._del.call(this, key, options));
  }

  async _batch(operations: unknown[], options: unknown): Promise<void> {
    return this.#guarded(() => classic._batch.call(this, operations, options));
  }

  async _clear(options: unknown): Promise<void> {
    return this.#guarded(() => classic._clear.call(this, options));
  }

  #guarded(write: () => Promise<void>): Promise<void> {
    return this.#guard === undefined ? write() : this.#guard.run(write);
  }
}
