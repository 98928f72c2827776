import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { FieldgateError } from '../errors.js';
import { freeBytes as statfsFreeBytes } from './free-space.js';
import { GroupCommit } from './group-commit.js';
import { LevelQueue } from './level-queue.js';
import type { CommitOp, StoreIo } from './route-storage.js';
import {
  openDatabase,
  type EmptiedReport,
  type OpenedDatabase,
  type Quarantine,
  type RepairReport,
  type RootDatabase,
  type Sublevel,
} from './open-database.js';
import type { OverflowPolicy, Queue } from './queue.js';
import { SpaceQuota } from './space-quota.js';
import { WriteGuard, type WriteHealth } from './write-guard.js';

export type { EmptiedReport, Quarantine, RepairReport } from './open-database.js';
export type { StoreIo } from './route-storage.js';
export type { WriteHealth } from './write-guard.js';

/**
 * Free space needed before writes resume after a failed one: LevelDB flushes its memtable (up to its 4 MiB
 * write buffer) into a table and starts a new log, with room to spare for the next commits.
 */
const WRITE_RECOVERY_HEADROOM_BYTES = 8 * 1024 ** 2;
/** A root key outside every keyspace, overwritten by each recovery probe. */
const PROBE_KEY = Buffer.from('write-probe');

export interface QueueStoreOptions {
  /** The LevelDB directory (e.g. `<stateDir>/queue`). */
  dir: string;
  /** Group commit: the longest an append waits to become durable. */
  commitIntervalMs: number;
  /** Group commit: commit earlier once this many items wait. */
  commitMaxItems: number;
  /** `sync` fsyncs every commit; `relaxed` leaves it to the OS. */
  durability: 'sync' | 'relaxed';
  /** Quota on stored items, all routes together. */
  maxBytes: number;
  /** Keep at least this much free on the filesystem of `dir`; 0 disables the check. */
  minFreeBytes: number;
  overflow: OverflowPolicy;
  log: Logger;
  /** Clock, default `Date.now`. */
  now?: () => number;
  /** Free bytes on the filesystem of `dir`; default `statfs`. Injectable for tests. */
  freeBytes?: (dir: string) => Promise<number>;
}

/** A keyspace for other persisted state (e.g. the command router's FIFO): string keys, JSON values. */
export type StateSublevel<V = unknown> = Sublevel<string, V>;

/**
 * Owns the one LevelDB database of the daemon (docs/architecture.md#data-flow): one durable queue per route,
 * a shared group
 * commit, a shared quota and disk watermark, and keyspaces for other persisted state.
 *
 * Lifecycle: `open`, then `queue()` once per route and `sublevel()` as needed, then `close()` once, which
 * commits pending appends first. Route queues are closed with the store.
 */
export class LevelQueueStore {
  /** Set when the database could not be opened or repaired and was moved aside. */
  readonly quarantine: Quarantine | undefined;
  /** Set when LevelDB reported corruption and a repaired copy replaced the database (the original kept). */
  readonly repair: RepairReport | undefined;
  /** Set when the database's data files hold bytes but it opened with no record. */
  readonly emptied: EmptiedReport | undefined;
  readonly #db: RootDatabase;
  readonly #options: QueueStoreOptions;
  readonly #now: () => number;
  readonly #quota: SpaceQuota;
  readonly #groupCommit: GroupCommit<CommitOp>;
  readonly #writeGuard: WriteGuard;
  readonly #queues = new Map<string, Promise<LevelQueue>>();
  readonly #io: StoreIo = { commits: 0, keysRead: 0, compactions: 0 };
  #isClosed = false;

  private constructor(opened: OpenedDatabase, options: QueueStoreOptions) {
    this.#db = opened.db;
    this.quarantine = opened.quarantine;
    this.repair = opened.repair;
    this.emptied = opened.emptied;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const freeBytes = options.freeBytes ?? statfsFreeBytes;
    this.#quota = new SpaceQuota({
      maxBytes: options.maxBytes,
      minFreeBytes: options.minFreeBytes,
      freeBytes: () => freeBytes(options.dir),
      now: this.#now,
    });
    this.#writeGuard = new WriteGuard({
      freeBytes: () => freeBytes(options.dir),
      headroomBytes: WRITE_RECOVERY_HEADROOM_BYTES,
      isWritable: () => isWritable(options.dir),
      // LevelDB flushes the memtable and switches to a new log before compacting any range, even an empty one.
      rollLog: () => this.#db.compactRange(PROBE_KEY, PROBE_KEY),
      probe: () => this.#db.unguardedPut(PROBE_KEY, Buffer.alloc(0), { sync: true }),
      log: options.log,
      now: this.#now,
    });
    this.#db.guardWith(this.#writeGuard);
    const sync = options.durability === 'sync';
    this.#groupCommit = new GroupCommit<CommitOp>({
      intervalMs: options.commitIntervalMs,
      maxItems: options.commitMaxItems,
      write: async (ops) => {
        await this.#db.batch(
          ops.map((op) => (typeof op === 'function' ? op() : op)),
          { sync },
        );
        this.#io.commits++;
      },
    });
  }

  /**
   * Open (creating if needed) the database in `options.dir`. A database LevelDB reports as corrupt is
   * repaired on a copy (see `repair`), or moved aside and replaced by an empty one (see `quarantine`); every
   * other failure throws and touches nothing (see `openDatabase`): `FG_STORAGE_PERMISSION`,
   * `FG_STORAGE_UNAVAILABLE`, `FG_QUEUE_NO_SPACE`, `FG_QUEUE_LOCKED`, `FG_QUEUE_UNREADABLE`.
   */
  static async open(options: QueueStoreOptions): Promise<LevelQueueStore> {
    const now = options.now ?? Date.now;
    const opened = await openDatabase({ dir: options.dir, log: options.log, now });
    return new LevelQueueStore(opened, options);
  }

  /**
   * The durable queue of `route`, loading its position and recounting its items on first use. Later calls
   * return the same queue (the first call's `ttlMs` applies).
   */
  queue(route: string, options: { ttlMs: number }): Promise<Queue> {
    if (this.#isClosed) {
      return Promise.reject(new FieldgateError('FG_QUEUE_CLOSED', 'The queue store is closed.'));
    }
    let queue = this.#queues.get(route);
    if (queue === undefined) {
      queue = LevelQueue.open({
        route,
        db: this.#db,
        groupCommit: this.#groupCommit,
        quota: this.#quota,
        io: this.#io,
        overflow: this.#options.overflow,
        ttlMs: options.ttlMs,
        now: this.#now,
        log: this.#options.log.child({ route }),
      });
      this.#queues.set(route, queue);
    }
    return queue;
  }

  /** A keyspace for other persisted state, apart from every route's queue. */
  sublevel<V = unknown>(name: string): StateSublevel<V> {
    return this.#db.sublevel<string, V>(['state', name], { valueEncoding: 'json' });
  }

  /** Bytes of stored items, all routes (approximate: key + value sizes). */
  storageBytes(): number {
    return this.#quota.usedBytes;
  }

  /** Whether writes reach the database, or are refused since a failed one (see `WriteGuard`). */
  writeHealth(): WriteHealth {
    return this.#writeGuard.health;
  }

  /**
   * `listener` is called once if the database refuses writes even after recovery: only reopening it (a
   * restart of the daemon) helps. Committed data is safe; nothing can be stored until then.
   */
  onNeedsRestart(listener: (reason: string) => void): () => void {
    return this.#writeGuard.onNeedsRestart(listener);
  }

  /** Counters of the store's work since open. */
  io(): Readonly<StoreIo> {
    return { ...this.#io };
  }

  /** Commit pending appends, close every route queue, then the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const queues = await Promise.allSettled(this.#queues.values());
    for (const queue of queues) if (queue.status === 'fulfilled') await queue.value.close();
    await this.#groupCommit.flush();
    await this.#db.close();
  }
}

/** False while `dir` is on a read-only mount (access(2) reports EROFS for W_OK there). */
function isWritable(dir: string): Promise<boolean> {
  return access(dir, constants.W_OK).then(
    () => true,
    (e: unknown) => (e as NodeJS.ErrnoException).code !== 'EROFS',
  );
}
