import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AdapterContext } from '../../adapters/adapter.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from '../../src/model.js';

/**
 * An `AdapterContext` that records everything an adapter tells the gateway, with its debug log kept in
 * memory as parsed lines so a test can assert what an operator would read. The clock is the real one;
 * a radio's fake overrides `now` where the test moves time itself.
 */
export class RecordingContext implements AdapterContext {
  readonly readings: Reading[] = [];
  readonly statuses: { state: AdapterState; detail?: string }[] = [];
  readonly devices = new Map<DeviceId, DeviceInfo>();
  readonly removed: DeviceId[] = [];
  readonly awakened: DeviceId[] = [];
  readonly logLines: Record<string, unknown>[] = [];
  readonly log = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  readonly #abort = new AbortController();
  readonly signal = this.#abort.signal;

  constructor(
    readonly name: string,
    readonly stateDir: string,
  ) {}

  now(): number {
    return Date.now();
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

  /** The adapter's latest status, undefined before its first. */
  get state(): AdapterState | undefined {
    return this.statuses.at(-1)?.state;
  }

  readingsOf(device: DeviceId): Reading[] {
    return this.readings.filter((r) => r.device === device);
  }

  /** Abort `signal`: the gateway is stopping the adapter. */
  abort(): void {
    this.#abort.abort();
  }
}
