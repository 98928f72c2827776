import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { FieldgateError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { GuardedLevel } from './guarded-level.js';
import { classifyOpenError, type ClassifiedOpenError } from './open-error.js';
import { checkQueueFiles } from './state-dir-check.js';

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

/** What a repair kept and what it could not: shown in `status` until the next restart. */
export interface RepairReport {
  /** Epoch ms. */
  at: number;
  /** LevelDB's corruption message that started the repair. */
  reason: string;
  /** The database as it was found, kept untouched: delete it once the queue is known good. */
  keptPath: string;
  /**
   * Table files repair found damaged and moved to `lost/`: it rewrote what it could still read from each into
   * a new table and dropped the rest. Records in their damaged blocks (or all of a table it could not open)
   * are gone; LevelDB does not say how many.
   */
  damagedTables: { file: string; bytes: number }[];
  /** Records (LevelDB keys: segments of readings, positions, commands) in the repaired database. */
  recordsAfter: number;
}

/** A database whose data files hold bytes but which opened with no record at all. */
export interface EmptiedReport {
  dataBytes: number;
}

export interface OpenedDatabase {
  db: RootDatabase;
  quarantine: Quarantine | undefined;
  repair: RepairReport | undefined;
  emptied: EmptiedReport | undefined;
}

/**
 * Open the LevelDB database in `dir`. Only LevelDB's own corruption is repaired, and on a copy: the copy is
 * repaired and opened, what it lost is listed, and only then does it take the original's place; the original
 * is kept beside it (`repair.keptPath`). If even the repaired copy does not open, the original is moved to
 * `<dir>.corrupt-<ts>` and an empty database is started (loudly: `quarantine`).
 *
 * Every other failure is reported as what it is and nothing is touched:
 * @throws FieldgateError `FG_STORAGE_PERMISSION` (exit 78): a file or the directory is not the daemon's to
 *   read and write; the message names it, its owner and mode.
 * @throws FieldgateError `FG_STORAGE_UNAVAILABLE` (75): read-only filesystem, I/O error, out of descriptors.
 * @throws FieldgateError `FG_QUEUE_NO_SPACE` (75): the filesystem is too full to open the database.
 * @throws FieldgateError `FG_QUEUE_LOCKED` (75): another process holds the database.
 * @throws FieldgateError `FG_QUEUE_UNREADABLE` (78): a file is missing, the path is not a directory, or
 *   LevelDB failed in a way not recognised.
 */
export async function openDatabase(options: {
  dir: string;
  log: Logger;
  now: () => number;
}): Promise<OpenedDatabase> {
  const { dir, log, now } = options;
  await checkQueueFiles(dir);
  const dataBytes = await dataFileBytes(dir);
  const first = await tryOpen(dir);
  if (first.db !== undefined) {
    return {
      db: first.db,
      quarantine: undefined,
      repair: undefined,
      emptied: emptied(dir, dataBytes, first.records, log),
    };
  }
  const failure = classifyOpenError(first.error);
  if (failure.kind !== 'corrupt') throw refusal(dir, failure, first.error);

  const at = now();
  log.warn(
    { dir, err: failure.detail },
    'Queue database is damaged (LevelDB reports corruption); repairing a copy, the original is kept.',
  );
  const repaired = await repairCopy(dir, at, log);
  if (repaired !== undefined) {
    const keptPath = `${dir}.before-repair-${at}`;
    await rename(dir, keptPath);
    await rename(repaired.dir, dir);
    const reopened = await tryOpen(dir);
    if (reopened.db !== undefined) {
      const repair: RepairReport = {
        at,
        reason: failure.detail,
        keptPath,
        damagedTables: repaired.damagedTables,
        recordsAfter: reopened.records,
      };
      if (repair.damagedTables.length > 0 || reopened.records === 0) {
        log.error(
          { dir, keptPath, damagedTables: repair.damagedTables, recordsAfter: repair.recordsAfter },
          `Queue database repaired, with losses: ${repair.damagedTables.length} damaged table files were rewritten or dropped, and readings in their damaged parts are gone (${repair.recordsAfter} records remain). The database as found is kept at ${keptPath}.`,
        );
      } else {
        log.warn(
          { dir, keptPath, recordsAfter: repair.recordsAfter },
          `Queue database repaired; no table file was damaged (${repair.recordsAfter} records). The database as found is kept at ${keptPath}.`,
        );
      }
      return { db: reopened.db, quarantine: undefined, repair, emptied: undefined };
    }
    // The copy opened a moment ago and does not now: put the original back and treat it as unrepairable.
    await rename(dir, `${dir}.repaired-unusable-${at}`);
    await rename(keptPath, dir);
  }
  return quarantineAndStartEmpty(dir, at, failure, log);
}

/** Opens `dir` and reads every key; never throws except for a held LOCK. */
async function tryOpen(
  dir: string,
): Promise<{ db: RootDatabase; records: number; error?: never } | { db?: never; error: unknown }> {
  const db: RootDatabase = new GuardedLevel(dir, {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  try {
    await db.open();
  } catch (e) {
    if (classifyOpenError(e).kind === 'locked') {
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
    return { db, records: await readEveryTable(db) };
  } catch (e) {
    await db.close().catch(() => undefined);
    return { error: e };
  }
}

/**
 * LevelDB opens table files lazily: a table cut short by a power failure opens fine and fails on the first
 * read, after the repair path could have helped. Reading every key once at open (the queue stores one record
 * per group commit, so there are few) surfaces that damage here. Returns how many keys there are.
 */
async function readEveryTable(db: RootDatabase): Promise<number> {
  let records = 0;
  for await (const key of db.keys({ fillCache: false })) {
    void key;
    records++;
  }
  return records;
}

/**
 * Copy `dir` aside, run LevelDB's repair on the copy and open it. Returns the copy (closed) and the table
 * files repair could not use, or undefined (the copy removed) when the repaired copy does not open.
 */
async function repairCopy(
  dir: string,
  at: number,
  log: Logger,
): Promise<{ dir: string; damagedTables: RepairReport['damagedTables'] } | undefined> {
  const copy = `${dir}.repairing-${at}`;
  await rm(copy, { recursive: true, force: true });
  try {
    await cp(dir, copy, { recursive: true });
  } catch (e) {
    await rm(copy, { recursive: true, force: true });
    throw refusal(dir, classifyOpenError(e), e);
  }
  // Files `lost/` already held came from an earlier repair; only new arrivals count.
  const lostBefore = new Set(await readdir(path.join(copy, 'lost')).catch(() => [] as string[]));
  const repairError = await ClassicLevel.repair(copy).then(
    () => undefined,
    (e: unknown) => e,
  );
  const opened = repairError === undefined ? await tryOpen(copy) : { error: repairError };
  if (opened.db === undefined) {
    log.error(
      { dir, err: errorMessage(opened.error) },
      'Repair could not make a copy of the queue database readable.',
    );
    await rm(copy, { recursive: true, force: true });
    return undefined;
  }
  await opened.db.close();
  const damagedTables: RepairReport['damagedTables'] = [];
  for (const file of await readdir(path.join(copy, 'lost')).catch(() => [] as string[])) {
    // Repair always archives logs (after converting them into tables) and old manifests: only a table in
    // lost/ was damaged (salvaged into a new table, or dropped if unreadable).
    if (lostBefore.has(file) || !/\.(ldb|sst)$/.test(file)) continue;
    const { size } = await stat(path.join(copy, 'lost', file));
    damagedTables.push({ file, bytes: size });
  }
  return { dir: copy, damagedTables };
}

async function quarantineAndStartEmpty(
  dir: string,
  at: number,
  failure: ClassifiedOpenError,
  log: Logger,
): Promise<OpenedDatabase> {
  const quarantine: Quarantine = { path: `${dir}.corrupt-${at}`, reason: failure.detail, at };
  try {
    await rename(dir, quarantine.path);
    await mkdir(path.dirname(dir), { recursive: true });
  } catch (e) {
    throw new FieldgateError(
      'FG_QUEUE_CORRUPT',
      `The queue database in ${dir} is damaged and cannot be moved aside.`,
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
    'Queue database is damaged beyond repair and has been moved aside; its stored readings are not forwarded. Starting empty.',
  );
  return { db: fresh.db, quarantine, repair: undefined, emptied: undefined };
}

/** Bytes in LevelDB's data files (tables and logs) of `dir`, before it is opened. */
async function dataFileBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!/\.(ldb|sst|log)$/.test(file)) continue;
    bytes += await stat(path.join(dir, file)).then(
      (s) => s.size,
      () => 0,
    );
  }
  return bytes;
}

/**
 * A queue that was ever used holds at least its routes' positions: data files with bytes in them and not a
 * single record means something emptied it (a repair by an older version, a manual repair, a bad restore).
 */
function emptied(dir: string, dataBytes: number, records: number, log: Logger): EmptiedReport | undefined {
  // LevelDB writes a few bytes of log and table on a fresh database; a real queue's files hold far more.
  if (records > 0 || dataBytes < 4096) return undefined;
  log.error(
    { dir, dataBytes },
    'The queue database has data files but no record in them: whatever they held is not readable. Check for a `lost/` directory or a backup.',
  );
  return { dataBytes };
}

/** The error for a database that must not be touched, per kind, saying what to do. */
function refusal(dir: string, failure: ClassifiedOpenError, cause: unknown): FieldgateError {
  const file = failure.path ?? dir;
  const context = { dir, path: file, kind: failure.kind, detail: failure.detail };
  const untouched = 'Nothing was moved or repaired.';
  switch (failure.kind) {
    case 'noSpace':
      return new FieldgateError(
        'FG_QUEUE_NO_SPACE',
        `The filesystem of ${dir} is full: the queue database needs room to open. Nothing was moved or deleted; free some space and start fieldgate again.`,
        { cause, context },
      );
    case 'permission':
      return new FieldgateError(
        'FG_STORAGE_PERMISSION',
        `fieldgate may not read or write ${file} (${failure.detail}). ${untouched} Give the state directory back to the service user (e.g. chown -R fieldgate:fieldgate ${path.dirname(dir)}).`,
        { cause, context },
      );
    case 'readOnly':
      return new FieldgateError(
        'FG_STORAGE_UNAVAILABLE',
        `queue storage unavailable: read-only filesystem at ${dir} (${failure.detail}). ${untouched} Remount it read-write.`,
        { cause, context },
      );
    case 'io':
      return new FieldgateError(
        'FG_STORAGE_UNAVAILABLE',
        `queue storage unavailable: I/O error reading ${file} (${failure.detail}); the disk or SD card may be failing. ${untouched}`,
        { cause, context },
      );
    case 'tooManyFiles':
      return new FieldgateError(
        'FG_STORAGE_UNAVAILABLE',
        `queue storage unavailable: out of file descriptors opening ${file} (${failure.detail}). ${untouched} Raise LimitNOFILE.`,
        { cause, context },
      );
    case 'missing':
      return new FieldgateError(
        'FG_QUEUE_UNREADABLE',
        `The queue database in ${dir} needs ${file}, which is missing (${failure.detail}). ${untouched} Restore the file (a partial copy or restore?), or move ${dir} aside to start with an empty queue.`,
        { cause, context },
      );
    case 'notDirectory':
      return new FieldgateError(
        'FG_QUEUE_UNREADABLE',
        `${dir} must be a directory holding the queue database (${failure.detail}). ${untouched}`,
        { cause, context },
      );
    case 'locked':
      return new FieldgateError(
        'FG_QUEUE_LOCKED',
        `The queue database in ${dir} is in use by another process.`,
        {
          cause,
          context,
        },
      );
    case 'corrupt':
    case 'unknown':
      return new FieldgateError(
        'FG_QUEUE_UNREADABLE',
        `The queue database in ${dir} does not open (${failure.detail}). ${untouched}`,
        { cause, context },
      );
  }
}
