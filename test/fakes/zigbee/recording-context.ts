import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AdapterContext } from '../../../adapters/adapter.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from '../../../src/model.js';

/**
 * An `AdapterContext` that records everything an adapter tells the gateway, with a clock the test moves
 * and log lines kept in memory so a test can assert what an operator would read.
 */
export class RecordingContext implements AdapterContext {
  readonly name = 'zigbee';
  readonly readings: Reading[] = [];
  readonly statuses: { state: AdapterState; detail?: string }[] = [];
  readonly devices = new Map<DeviceId, DeviceInfo>();
  readonly removed: DeviceId[] = [];
  readonly awakened: DeviceId[] = [];
  readonly logLines: Record<string, unknown>[] = [];
  readonly log = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  private readonly abort = new AbortController();
  readonly signal = this.abort.signal;
  clockMs = Date.parse('2025-06-01T12:00:00Z');

  private constructor(readonly stateDir: string) {}

  static async create(): Promise<RecordingContext> {
    return new RecordingContext(await mkdtemp(path.join(os.tmpdir(), 'fg-zigbee-')));
  }

  now(): number {
    return this.clockMs;
  }
  emit(readings: Reading[]): Promise<void> {
    this.readings.push(...readings);
    return Promise.resolve();
  }
  deviceChanged(info: DeviceInfo): void {
    this.devices.set(info.id, info);
  }
  deviceRemoved(id: DeviceId): void {
    this.removed.push(id);
    this.devices.delete(id);
  }
  deviceAwake(id: DeviceId): void {
    this.awakened.push(id);
  }
  setStatus(state: AdapterState, detail?: string): void {
    this.statuses.push(detail === undefined ? { state } : { state, detail });
  }
  get state(): AdapterState | undefined {
    return this.statuses.at(-1)?.state;
  }

  async dispose(): Promise<void> {
    this.abort.abort();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}

/** Polls `condition` until it holds; generous, because the test machine is slow and shared. */
export async function eventually<T>(
  condition: () => T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
