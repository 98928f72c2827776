import type { DeviceCommand, DeviceId } from '../model.js';

/** A command waiting for its device, as persisted. `expiresAt` is always resolved before it is stored. */
export interface StoredCommand {
  /** Gateway-assigned arrival number, increasing across all devices; orders a device's FIFO. */
  seq: number;
  command: DeviceCommand & { expiresAt: number };
}

/**
 * The persisted per-device command FIFOs (docs/architecture.md#commands), so held commands survive a restart.
 *
 * The router is the only writer and calls these one at a time per command (`put` before `delete`).
 * Writes resolve once the entry is in the store's log: a process crash keeps it, a power cut may lose the
 * last writes. Methods reject only on storage failure.
 */
export interface CommandStore {
  /** Every stored command, each device's in `seq` order. Entries that cannot be parsed are skipped. */
  load(): Promise<StoredCommand[]>;
  put(entry: StoredCommand): Promise<void>;
  delete(device: DeviceId, seq: number): Promise<void>;
}

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

/**
 * The part of a `level` (sub)database this store uses. Declared here rather than imported so the store
 * depends only on `level`'s behaviour, not on its internal `abstract-level` package.
 */
export interface CommandSublevel {
  values(options: typeof JSON_VALUES): AsyncIterable<unknown>;
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

  async load(): Promise<StoredCommand[]> {
    const entries: StoredCommand[] = [];
    for await (const value of this.#db.values(JSON_VALUES)) {
      if (isStoredCommand(value)) entries.push(value);
    }
    return entries;
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
  readonly #entries = new Map<string, StoredCommand>();

  load(): Promise<StoredCommand[]> {
    const sorted = [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Promise.resolve(sorted.map(([, entry]) => structuredClone(entry)));
  }

  put(entry: StoredCommand): Promise<void> {
    this.#entries.set(commandKey(entry.command.device, entry.seq), structuredClone(entry));
    return Promise.resolve();
  }

  delete(device: DeviceId, seq: number): Promise<void> {
    this.#entries.delete(commandKey(device, seq));
    return Promise.resolve();
  }
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
