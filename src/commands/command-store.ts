import type { DeviceCommand, DeviceId } from '../model.js';

/** A command waiting for its device, as persisted. `expiresAt` is always resolved before it is stored. */
export interface StoredCommand {
  /** Gateway-assigned arrival number, increasing across all devices; orders a device's FIFO. */
  seq: number;
  command: DeviceCommand & { expiresAt: number };
}

/** One entry met by `scan`: a stored command, or one that cannot be read (with why, for the log). */
export type ScannedEntry = { key: string; stored: StoredCommand } | { key: string; damaged: string };

/**
 * The persisted per-device command FIFOs (docs/architecture.md#commands), so held commands survive a restart.
 *
 * The router is the only writer and calls these one at a time per command (`put` before `delete`).
 * Writes resolve once the entry is in the store's log: a process crash keeps it, a power cut may lose the
 * last writes. Methods reject only on storage failure.
 */
export interface CommandStore {
  /**
   * Every stored entry, one at a time (never all in memory at once), each device's in `seq` order. An
   * entry that cannot be read is yielded as `damaged`, never thrown: one bad entry must not stop a start.
   * Reads a snapshot: entries put or deleted while a scan runs may or may not be seen.
   */
  scan(): AsyncIterable<ScannedEntry>;
  put(entry: StoredCommand): Promise<void>;
  delete(device: DeviceId, seq: number): Promise<void>;
}

/** Every readable entry of a store at once: for tests and small stores only (the router streams). */
export async function loadAll(store: CommandStore): Promise<StoredCommand[]> {
  const entries: StoredCommand[] = [];
  for await (const entry of store.scan()) if ('stored' in entry) entries.push(entry.stored);
  return entries;
}

/**
 * A stored value larger than this is reported damaged without being parsed. No version ever accepted a
 * command this large (the connectors refuse payloads over 64 KiB), so it can only be damage.
 */
export const MAX_ENTRY_CHARS = 1024 * 1024;

/** Wide enough for Number.MAX_SAFE_INTEGER, so the string order of keys is the numeric order of seqs. */
const SEQ_WIDTH = 16;

/**
 * `<device>!<fixed-width seq>`: one device's commands are adjacent and iterate in arrival order. Device ids
 * never contain `!` (docs/architecture.md#vocabulary), and `load` takes the device from the value anyway.
 */
export function commandKey(device: DeviceId, seq: number): string {
  return `${device}!${String(seq).padStart(SEQ_WIDTH, '0')}`;
}

const JSON_VALUES = { valueEncoding: 'json' } as const;
/** Read as text and parsed here: with `json` a value that is not JSON would throw out of the iterator. */
const TEXT_ENTRIES = { keyEncoding: 'utf8', valueEncoding: 'utf8' } as const;

/**
 * The part of a `level` (sub)database this store uses. Declared here rather than imported so the store
 * depends only on `level`'s behaviour, not on its internal `abstract-level` package.
 */
export interface CommandSublevel {
  iterator(options: typeof TEXT_ENTRIES): AsyncIterable<[string, string]>;
  put(key: string, value: unknown, options: typeof JSON_VALUES): Promise<void>;
  del(key: string): Promise<void>;
}

/**
 * A `CommandStore` over a LevelDB sublevel, e.g. `db.sublevel('commands')`. Values are JSON whatever the
 * sublevel's default encoding (it is given per operation). The caller owns the database and closes it.
 */
export class LevelCommandStore implements CommandStore {
  readonly #db: CommandSublevel;

  constructor(db: CommandSublevel) {
    this.#db = db;
  }

  async *scan(): AsyncIterable<ScannedEntry> {
    for await (const [key, text] of this.#db.iterator(TEXT_ENTRIES)) yield scanned(key, text);
  }

  async put(entry: StoredCommand): Promise<void> {
    await this.#db.put(commandKey(entry.command.device, entry.seq), entry, JSON_VALUES);
  }

  async delete(device: DeviceId, seq: number): Promise<void> {
    await this.#db.del(commandKey(device, seq));
  }
}

/** A `CommandStore` in memory, for unit tests and for running without a state dir. */
export class MemoryCommandStore implements CommandStore {
  readonly #entries = new Map<string, string>();

  async *scan(): AsyncIterable<ScannedEntry> {
    // A snapshot, as LevelDB's iterator reads one.
    const sorted = [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, text] of sorted) yield await Promise.resolve(scanned(key, text));
  }

  put(entry: StoredCommand): Promise<void> {
    this.#entries.set(commandKey(entry.command.device, entry.seq), JSON.stringify(entry));
    return Promise.resolve();
  }

  /** Store a raw value under a key, as a damaged disk or an older version may have left it (tests). */
  putRaw(key: string, text: string): void {
    this.#entries.set(key, text);
  }

  delete(device: DeviceId, seq: number): Promise<void> {
    this.#entries.delete(commandKey(device, seq));
    return Promise.resolve();
  }
}

function scanned(key: string, text: string): ScannedEntry {
  if (text.length > MAX_ENTRY_CHARS) return { key, damaged: `entry is ${text.length} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { key, damaged: 'entry is not JSON' };
  }
  return isStoredCommand(value) ? { key, stored: value } : { key, damaged: 'entry is not a stored command' };
}

/** Guards against entries written by a different version or damaged on disk: they are skipped, not fatal. */
function isStoredCommand(value: unknown): value is StoredCommand {
  if (typeof value !== 'object' || value === null) return false;
  const { seq, command } = value as Partial<Record<keyof StoredCommand, unknown>>;
  if (typeof seq !== 'number' || typeof command !== 'object' || command === null) return false;
  const c = command as Partial<Record<keyof DeviceCommand, unknown>>;
  return (
    typeof c.id === 'string' &&
    typeof c.device === 'string' &&
    typeof c.name === 'string' &&
    typeof c.expiresAt === 'number' &&
    typeof c.origin === 'string' &&
    typeof c.args === 'object' &&
    c.args !== null
  );
}
