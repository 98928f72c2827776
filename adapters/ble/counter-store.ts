import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DeviceId } from '../../src/model.js';
import type { CounterMark } from './packet-guard.js';

const FILE_NAME = 'replay-counters.json';
const FORMAT_VERSION = 1;

/**
 * The last accepted counter of each keyed device, kept in the adapter's state dir so a packet recorded
 * before a restart cannot be replayed after it. The file is small (one line per keyed device) and
 * replaced atomically (written beside, fsynced, renamed), so a power cut leaves the old or the new one.
 *
 * Only 32-bit counters are kept: an 8-bit counter (pvvx) wraps within minutes, so a mark from before a
 * restart says nothing about the packets after it.
 */
export class CounterStore {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, FILE_NAME);
  }

  /**
   * The marks saved last time; none when there is no file yet.
   * @throws when the file exists but cannot be read or is not this format (the caller decides what then).
   */
  async load(): Promise<Map<DeviceId, CounterMark>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw e;
    }
    const parsed = JSON.parse(text) as { version?: unknown; devices?: unknown };
    if (parsed.version !== FORMAT_VERSION || typeof parsed.devices !== 'object' || parsed.devices === null)
      throw new Error(`${this.file} is not a version ${FORMAT_VERSION} counter file`);
    const marks = new Map<DeviceId, CounterMark>();
    for (const [id, value] of Object.entries(parsed.devices as Record<string, unknown>)) {
      if (isMark(value)) marks.set(id, value);
    }
    return marks;
  }

  /** Replaces the file with these marks (32-bit counters only). */
  async save(marks: ReadonlyMap<DeviceId, CounterMark>): Promise<void> {
    const devices: Record<string, CounterMark> = {};
    for (const [id, mark] of marks) if (mark.bits === 32) devices[id] = mark;
    const temp = `${this.file}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify({ version: FORMAT_VERSION, devices })}\n`);
      // On an SD card the rename can reach the disk before the data does; sync first.
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, this.file);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
  }
}

function isMark(value: unknown): value is CounterMark {
  if (typeof value !== 'object' || value === null) return false;
  const mark = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(mark.counter) &&
    mark.bits === 32 &&
    typeof mark.keyId === 'string' &&
    typeof mark.payloadId === 'string' &&
    Number.isFinite(mark.at)
  );
}
