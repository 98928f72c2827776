import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AdapterContext } from '../../../adapters/adapter.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from '../../../src/model.js';

/**
 * An `AdapterContext` that records what the BLE adapter tells the gateway. Its clock is the real one plus
 * `skewMs`, which a test raises to make time pass for availability without waiting.
 */
export class RecordingContext implements AdapterContext {
  readonly readings: Reading[] = [];
  readonly statuses: { state: AdapterState; detail?: string }[] = [];
  readonly devices = new Map<DeviceId, DeviceInfo>();
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
  readonly stateDir = '/nonexistent/ble-state';
  private readonly abort = new AbortController();
  readonly signal = this.abort.signal;
  skewMs = 0;

  constructor(readonly name = 'ble') {}

  now(): number {
    return Date.now() + this.skewMs;
  }
  emit(readings: Reading[]): Promise<void> {
    this.readings.push(...readings);
    return Promise.resolve();
  }
  deviceChanged(info: DeviceInfo): void {
    this.devices.set(info.id, info);
  }
  deviceRemoved(id: DeviceId): void {
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

  readingsOf(device: DeviceId): Reading[] {
    return this.readings.filter((r) => r.device === device);
  }
}
