import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { FieldgateError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { GuardedLevel } from './guarded-level.js';

/** The store's one LevelDB database. Keys and values are bytes; sublevels choose their own encodings. */
export type RootDatabase = GuardedLevel;

/** A keyspace of the root database with keys of type `K` and values of type `V`. */
export type Sublevel<K, V> = AbstractSublevel<RootDatabase, string | Buffer | Uint8Array, K, V>;

export interface Quarantine {
  /** Where the unusable database directory was moved. */
  path: string;
  reason: string;
  /** Epoch ms. */
  at: number;
}

export interface OpenedDatabase {
  db: RootDatabase;
  quarantine: Quarantine | undefined;
}

/**
 * Open the LevelDB database in `dir`, repairing it once if it will not open, and moving it aside to
 * `<dir>.corrupt-<ts>` (then starting empty) if repair does not help. A gateway that crash-loops on a
 * damaged queue forwards nothing, so losing the backlog (loudly) beats refusing to start.
 *
 * Throws `FG_QUEUE_LOCKED` when another process holds the database: that is a second daemon, not damage,
 * and its data must not be moved away. Throws `FG_QUEUE_NO_SPACE` when the filesystem is too full to open it,
 * leaving it as it is. Throws `FG_QUEUE_CORRUPT` only if even a fresh database cannot be
 * created.
 */
export async function openDatabase(options: {
  dir: string;
  log: Logger;
  now: () => number;
}): Promise<OpenedDatabase> {
  const { dir, log, now } = options;
  const firstError = await tryOpen(dir);
  if (firstError.db !== undefined) return { db: firstError.db, quarantine: undefined };
  if (isOutOfSpace(firstError.error)) {
    // Opening replays the log into a new table file, which needs room. The data is fine: repairing or moving
    // it aside would cost the backlog for want of a few megabytes.
    throw new FieldgateError(
      'FG_QUEUE_NO_SPACE',
      `The filesystem of ${dir} is full: the queue database needs room to open. Nothing was moved or deleted; free some space and start fieldgate again.`,
      { cause: firstError.error, context: { dir } },
    );
  }

  log.warn(
    { dir, err: errorMessage(firstError.error) },
    'Queue database will not open; trying to repair it.',
  );
  const repairError = await ClassicLevel.repair(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (repairError === undefined) {
    const repaired = await tryOpen(dir);
    if (repaired.db !== undefined) {
      log.warn({ dir }, 'Queue database repaired.');
      return { db: repaired.db, quarantine: undefined };
    }
  }

  const at = now();
  const quarantine: Quarantine = {
    path: `${dir}.corrupt-${at}`,
    reason: describeOpenError(firstError.error),
    at,
  };
  try {
    await rename(dir, quarantine.path);
    await mkdir(path.dirname(dir), { recursive: true });
  } catch (e) {
    throw new FieldgateError(
      'FG_QUEUE_CORRUPT',
      `The queue database in ${dir} is unusable and cannot be moved aside.`,
      {
        cause: e,
        context: { dir },
      },
    );
  }
  const fresh = await tryOpen(dir);
  if (fresh.db === undefined) {
    throw new FieldgateError('FG_QUEUE_CORRUPT', `A fresh queue database cannot be created in ${dir}.`, {
      cause: fresh.error,
      context: { dir },
    });
  }
  log.error(
    { dir, quarantine: quarantine.path, reason: quarantine.reason },
    'Queue database was unusable and has been moved aside; its stored readings are not forwarded. Starting empty.',
  );
  return { db: fresh.db, quarantine };
}

async function tryOpen(
  dir: string,
): Promise<{ db: RootDatabase; error?: never } | { db?: never; error: unknown }> {
  const db: RootDatabase = new GuardedLevel(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  try {
    await db.open();
  } catch (e) {
    if (isLockHeld(e)) {
      throw new FieldgateError(
        'FG_QUEUE_LOCKED',
        `The queue database in ${dir} is in use by another process.`,
        {
          cause: e,
          context: { dir },
        },
      );
    }
    return { error: e };
  }
  try {
    await readEveryTable(db);
    return { db };
  } catch (e) {
    await db.close().catch(() => undefined);
    return { error: e };
  }
}

/**
 * LevelDB opens table files lazily: a table cut short by a power failure opens fine and fails on the first
 * read, after the repair path could have helped. Reading every key once at open (the queue stores one record
 * per group commit, so there are few) surfaces that damage here, where it can still be repaired.
 */
async function readEveryTable(db: RootDatabase): Promise<void> {
  for await (const key of db.keys({ fillCache: false })) void key;
}

/** LevelDB reports a full filesystem as an IO error whose message carries strerror(ENOSPC). */
export function isOutOfSpace(e: unknown): boolean {
  for (let cause = e; cause instanceof Error; cause = cause.cause) {
    if (/No space left on device|ENOSPC/.test(cause.message)) return true;
  }
  return false;
}

/** classic-level reports a held LOCK as LEVEL_DATABASE_NOT_OPEN caused by LEVEL_LOCKED. */
function isLockHeld(e: unknown): boolean {
  const cause = e instanceof Error ? e.cause : undefined;
  return typeof cause === 'object' && cause !== null && 'code' in cause && cause.code === 'LEVEL_LOCKED';
}

/** classic-level's message is generic ("Database failed to open"); the LevelDB detail is in the cause. */
function describeOpenError(e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined;
  return cause === undefined ? errorMessage(e) : `${errorMessage(e)}: ${errorMessage(cause)}`;
}
