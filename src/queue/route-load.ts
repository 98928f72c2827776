import { FieldgateError } from '../errors.js';
import type { Reading } from '../model.js';
import { decodeReading, decodeSeq, encodeSeq } from './codec.js';
import type { Sublevel } from './open-database.js';
import type { RouteStorage, StoreOp } from './route-storage.js';
import { decodeSegment, encodeSegment, itemBytes, type SegmentItem } from './segment-codec.js';
import { SegmentIndex, type SegmentChange } from './segment-index.js';

/**
 * On-disk layout version of a route's queue, stored as `meta/format`. 1 (no marker): one record per
 * reading under `items`. 2: segments under `segments`, removal marks under `marks`. A queue in format 1
 * is migrated on open; a newer format is refused, never read as empty.
 */
export const ROUTE_FORMAT = 2;
/** Readings per segment when migrating format 1. */
const MIGRATION_SEGMENT_ITEMS = 1000;

/** Persisted per route, always in the same batch as the deletes that move it. */
export interface RoutePosition {
  /** Every item with a seq at or below this is gone; the head is the first item above it. */
  cursor: number;
  /** The highest seq ever assigned, so deleting the newest items cannot make a restart reuse their seqs. */
  lastSeq: number;
}

export interface StoredDeadLetter {
  reading: Reading;
  reason: string;
  at: number;
}

/** A route's keyspaces in the store's database. */
export interface RouteKeyspaces {
  /** Format 1 items, read only to migrate them. */
  legacyItems: Sublevel<Buffer, Buffer>;
  segments: Sublevel<Buffer, Buffer>;
  /** Segment first seq → removed items above the cursor, as offsets from the first seq. */
  marks: Sublevel<Buffer, number[]>;
  /** `position` (RoutePosition) and `format` (number). */
  meta: Sublevel<string, unknown>;
  dead: Sublevel<Buffer, StoredDeadLetter>;
}

export function routeKeyspaces(storage: RouteStorage): RouteKeyspaces {
  const prefix = ['queue', storage.route];
  const bytes = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;
  return {
    legacyItems: storage.db.sublevel<Buffer, Buffer>([...prefix, 'items'], bytes),
    segments: storage.db.sublevel<Buffer, Buffer>([...prefix, 'segments'], bytes),
    marks: storage.db.sublevel<Buffer, number[]>([...prefix, 'marks'], {
      keyEncoding: 'buffer',
      valueEncoding: 'json',
    }),
    meta: storage.db.sublevel<string, unknown>([...prefix, 'meta'], { valueEncoding: 'json' }),
    dead: storage.db.sublevel<Buffer, StoredDeadLetter>([...prefix, 'dead'], {
      keyEncoding: 'buffer',
      valueEncoding: 'json',
    }),
  };
}

/** What a route's queue starts from. */
export interface LoadedRoute {
  position: RoutePosition;
  index: SegmentIndex;
  depth: number;
  bytes: number;
  /** The highest seq stored or ever assigned. */
  lastSeq: number;
  head: { seq: number; ts: number | undefined } | undefined;
  deadLetters: number;
}

/**
 * Read a route's state: check the format, migrate format-1 items, then recount every stored item (their
 * bytes join the store's quota) and rebuild the segment index. Segments that cannot be decoded, or whose
 * items are all gone, are deleted (the former logged).
 */
export async function loadRoute(keyspaces: RouteKeyspaces, storage: RouteStorage): Promise<LoadedRoute> {
  const { meta, segments, marks, dead } = keyspaces;
  const format = await meta.get('format');
  if (format !== undefined && format !== ROUTE_FORMAT) {
    throw new FieldgateError(
      'FG_QUEUE_CORRUPT',
      `The queue of route ${storage.route} is in format ${JSON.stringify(format)}; this fieldgate reads format ${ROUTE_FORMAT}. Run the version that wrote it.`,
      { context: { route: storage.route, format } },
    );
  }
  const position = ((await meta.get('position')) as RoutePosition | undefined) ?? { cursor: 0, lastSeq: 0 };
  await migrateLegacyItems(keyspaces, storage, position.cursor);
  if (format === undefined) await meta.put('format', ROUTE_FORMAT);

  const marked = new Map<number, Set<number>>();
  for await (const [key, deltas] of marks.iterator()) marked.set(decodeSeq(key), new Set(deltas));

  const loaded: LoadedRoute = {
    position,
    index: new SegmentIndex(),
    depth: 0,
    bytes: 0,
    lastSeq: Math.max(position.lastSeq, position.cursor),
    head: undefined,
    deadLetters: 0,
  };
  const cleanup: StoreOp[] = [];
  for await (const [key, value] of segments.iterator()) {
    storage.io.keysRead++;
    const firstSeq = decodeSeq(key);
    const mark = marked.get(firstSeq);
    let items: SegmentItem[];
    try {
      items = decodeSegment(firstSeq, value);
    } catch (e) {
      storage.log.error(
        { firstSeq, err: String(e) },
        'A stored segment could not be decoded and was dropped.',
      );
      cleanup.push(...segmentDeletes(keyspaces, key, mark !== undefined));
      continue;
    }
    const entry = loaded.index.add(firstSeq, items.length);
    entry.hasMark = mark !== undefined;
    for (const item of items) {
      loaded.lastSeq = Math.max(loaded.lastSeq, item.seq);
      if (item.seq <= position.cursor || mark?.has(item.seq - firstSeq) === true) {
        entry.removed.add(item.seq);
        continue;
      }
      loaded.depth++;
      loaded.bytes += itemBytes(item);
      loaded.head ??= { seq: item.seq, ts: tryTs(item.value) };
    }
    if (entry.removed.size === entry.count) {
      loaded.index.drop(firstSeq);
      cleanup.push(...segmentDeletes(keyspaces, key, entry.hasMark));
    }
  }
  if (cleanup.length > 0) await storage.db.batch(cleanup, { sync: false });
  for await (const _ of dead.keys()) loaded.deadLetters++;
  return loaded;
}

/** The operations that delete a segment and its mark. */
export function segmentDeletes(keyspaces: RouteKeyspaces, key: Buffer, hasMark: boolean): StoreOp[] {
  const ops: StoreOp[] = [{ type: 'del', sublevel: keyspaces.segments, key }];
  if (hasMark) ops.push({ type: 'del', sublevel: keyspaces.marks, key });
  return ops;
}

/** The operations a segment change takes, for the batch that removes items. */
export function changeOps(keyspaces: RouteKeyspaces, change: SegmentChange): StoreOp[] {
  const key = encodeSeq(change.firstSeq);
  switch (change.kind) {
    case 'deleteSegment':
      return segmentDeletes(keyspaces, key, change.hasMark);
    case 'putMark':
      return [{ type: 'put', sublevel: keyspaces.marks, key, value: change.deltas }];
    case 'deleteMark':
      return [{ type: 'del', sublevel: keyspaces.marks, key }];
  }
}

/**
 * Rewrite format-1 items (one record per reading) as segments. Each batch puts a segment and deletes the
 * items it holds, atomically and fsynced, so a crash part-way leaves every reading in exactly one place
 * and the next open carries on.
 */
async function migrateLegacyItems(keyspaces: RouteKeyspaces, storage: RouteStorage, cursor: number) {
  let migrated = 0;
  let chunk: SegmentItem[] = [];
  let deletes: StoreOp[] = [];
  const flush = async (): Promise<void> => {
    const ops = [...deletes];
    const first = chunk[0];
    if (first !== undefined) {
      ops.push({
        type: 'put',
        sublevel: keyspaces.segments,
        key: encodeSeq(first.seq),
        value: encodeSegment(first.seq, chunk),
      });
    }
    if (ops.length > 0) await storage.db.batch(ops, { sync: true });
    migrated += chunk.length;
    chunk = [];
    deletes = [];
  };
  for await (const [key, value] of keyspaces.legacyItems.iterator()) {
    const seq = decodeSeq(key);
    deletes.push({ type: 'del', sublevel: keyspaces.legacyItems, key });
    // At or below the cursor an item is already gone (its delete was lost, which the cursor allows).
    if (seq > cursor) chunk.push({ seq, value });
    if (deletes.length >= MIGRATION_SEGMENT_ITEMS) await flush();
  }
  await flush();
  if (migrated > 0) {
    storage.log.info({ readings: migrated }, 'Queue migrated to the segment format.');
  }
}

function tryTs(value: Uint8Array): number | undefined {
  try {
    return decodeReading(value).ts;
  } catch {
    return undefined;
  }
}
