import { FieldgateError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Why writes must stop after a failed one: a LevelDB write that fails part-way (ENOSPC, EIO) can leave a torn
 * record in the write-ahead log. LevelDB carries on appending after it, but its log reader loses alignment at
 * the tear, so on the next open every record written after it is dropped: commits that succeeded would vanish
 * at the next restart. And a failed background flush leaves LevelDB refusing every write until reopened.
 */
export type WriteHealth =
  | { state: 'ok' }
  /** Writes are refused until recovery succeeds; tried again at most once a second. */
  | { state: 'failing'; since: number; reason: string }
  /** LevelDB keeps failing after the log was rolled: only reopening it (a restart) helps. */
  | { state: 'needsRestart'; since: number; reason: string };

export interface WriteGuardOptions {
  /** Free bytes on the database's filesystem. */
  freeBytes: () => Promise<number>;
  /**
   * Whether the database's directory takes writes at all; false on a read-only mount (EROFS). While false,
   * recovery is not tried: rolling the log would fail and turn a passing state into a needed restart.
   */
  isWritable?: () => Promise<boolean>;
  /** Free space needed before writes are tried again: room for the memtable's flush and the new log. */
  headroomBytes: number;
  /**
   * Start a fresh log: flush the memtable (everything written before the failure) into a table and switch to
   * a new log file, leaving the torn one behind (LevelDB deletes it). Does not report failure itself.
   */
  rollLog: () => Promise<void>;
  /** A small synced write that bypasses the guard: proves LevelDB accepts writes again. */
  probe: () => Promise<void>;
  log: Logger;
  now: () => number;
}

/** How long after a failed recovery attempt writes are refused without trying again. */
const RETRY_INTERVAL_MS = 1000;

/**
 * Every write to the queue database runs through `run`. After the first failure no write reaches LevelDB
 * until free space is back, the log has been rolled and a probe write succeeded; until then writes fail fast
 * with `FG_QUEUE_NO_SPACE` or `FG_QUEUE_WRITE_FAILED` (their readings are counted as dropped, never reported
 * committed). If the probe fails, the state becomes `needsRestart` and stays so: the listeners are told once.
 */
export class WriteGuard {
  readonly #options: WriteGuardOptions;
  #health: WriteHealth = { state: 'ok' };
  #recovering: Promise<void> | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #refused = 0;
  readonly #restartListeners = new Set<(reason: string) => void>();

  constructor(options: WriteGuardOptions) {
    this.#options = options;
  }

  get health(): WriteHealth {
    return this.#health;
  }

  /** `listener` is called once, when the database needs reopening. Returns a function that unsubscribes. */
  onNeedsRestart(listener: (reason: string) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  async run<T>(write: () => Promise<T>): Promise<T> {
    if (this.#health.state !== 'ok') await this.#recover();
    try {
      return await write();
    } catch (e) {
      this.#fail(e);
      throw refusal(e);
    }
  }

  #fail(e: unknown): void {
    if (this.#health.state !== 'ok') return;
    this.#health = { state: 'failing', since: this.#options.now(), reason: errorMessage(e) };
    this.#refused = 0;
    this.#lastAttemptAt = this.#options.now();
    this.#options.log.error(
      { err: errorMessage(e) },
      'A queue write failed; no more writes until there is room and the database log is rolled. Readings meanwhile are dropped and counted (writeFailed).',
    );
  }

  /** Resolves when writes may go to LevelDB again; otherwise throws the refusal for this write. */
  async #recover(): Promise<void> {
    this.#recovering ??= this.#tryRecovery().finally(() => (this.#recovering = undefined));
    await this.#recovering;
    if (this.#health.state === 'ok') return;
    this.#refused++;
    throw refusal(new Error(this.#health.reason), this.#health.state === 'needsRestart');
  }

  async #tryRecovery(): Promise<void> {
    const health = this.#health;
    if (health.state !== 'failing') return;
    const { now, headroomBytes, log } = this.#options;
    if (now() - this.#lastAttemptAt < RETRY_INTERVAL_MS) return;
    this.#lastAttemptAt = now();
    if ((await this.#options.freeBytes().catch(() => 0)) < headroomBytes) return;
    if (this.#options.isWritable !== undefined && !(await this.#options.isWritable())) return;
    try {
      await this.#options.rollLog();
      await this.#options.probe();
    } catch (e) {
      this.#health = { state: 'needsRestart', since: health.since, reason: errorMessage(e) };
      log.error(
        { err: errorMessage(e) },
        'The queue database still refuses writes after rolling its log; it must be reopened: restarting.',
      );
      for (const listener of this.#restartListeners) listener(errorMessage(e));
      return;
    }
    this.#health = { state: 'ok' };
    log.warn({ failedForMs: now() - health.since, refusedWrites: this.#refused }, 'Queue writes work again.');
  }
}

/** The error a refused or failed write rejects with: the cause kept, the message saying what it means. */
function refusal(cause: unknown, needsRestart = false): FieldgateError {
  const reason = errorMessage(cause);
  if (/No space left on device|ENOSPC/.test(reason)) {
    return new FieldgateError(
      'FG_QUEUE_NO_SPACE',
      `The queue's filesystem is full (${reason}); readings are not stored until there is room.`,
      { cause },
    );
  }
  return new FieldgateError(
    'FG_QUEUE_WRITE_FAILED',
    needsRestart
      ? `The queue database refuses writes until it is reopened (${reason}).`
      : `A write to the queue database failed (${reason}); readings are not stored until it works again.`,
    { cause },
  );
}
