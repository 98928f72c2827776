import type { AdapterContext } from '../../../../adapters/adapter.js';
import { silentLogger } from '../../../../src/logger.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from '../../../../src/model.js';

/** An AdapterContext that records everything the adapter tells it. */
export class RecordingContext implements AdapterContext {
  readonly name: string;
  readonly log = silentLogger();
  readonly stateDir = '/nonexistent';
  readonly signal = new AbortController().signal;
  /** Every emit call's readings, in call order. */
  readonly emits: Reading[][] = [];
  readonly changes: DeviceInfo[] = [];
  readonly awakened: DeviceId[] = [];
  readonly states: AdapterState[] = [];
  nowMs = 1_700_000_000_000;
  /** Replace to delay emits (back-pressure); the default resolves at once. */
  onEmit: (readings: Reading[]) => Promise<void> = () => Promise.resolve();
  /** Called inside deviceAwake, before it returns. */
  onAwake: (id: DeviceId) => void = () => undefined;

  constructor(name = 'sim') {
    this.name = name;
  }

  emit(readings: Reading[]): Promise<void> {
    this.emits.push(readings);
    return this.onEmit(readings);
  }
  deviceChanged(info: DeviceInfo): void {
    this.changes.push(info);
  }
  deviceRemoved(): void {}
  deviceAwake(id: DeviceId): void {
    this.awakened.push(id);
    this.onAwake(id);
  }
  setStatus(state: AdapterState): void {
    this.states.push(state);
  }
  now(): number {
    return this.nowMs;
  }

  readings(device?: DeviceId): Reading[] {
    const all = this.emits.flat();
    return device === undefined ? all : all.filter((r) => r.device === device);
  }
}

export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let waitedMs = 0; !condition(); waitedMs += 10) {
    if (waitedMs > 20_000) throw new Error(`${what} not met within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
