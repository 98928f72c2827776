import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AdapterContext } from '../../../adapters/adapter.js';
import type { AdapterState, DeviceId, DeviceInfo, Reading } from '../../../src/model.js';
import { silentLogger } from '../../../src/logger.js';

/** An AdapterContext that records what the adapter reports, with its state dir in a fresh temp dir. */
export interface RecordingContext extends AdapterContext {
  readonly readings: Reading[];
  readonly statuses: { state: AdapterState; detail?: string | undefined }[];
  readonly awakened: DeviceId[];
  readonly devices: Map<DeviceId, DeviceInfo>;
  abort(): void;
}

export async function recordingContext(name = 'zwave', stateDir?: string): Promise<RecordingContext> {
  const controller = new AbortController();
  const readings: Reading[] = [];
  const statuses: RecordingContext['statuses'] = [];
  const awakened: DeviceId[] = [];
  const devices = new Map<DeviceId, DeviceInfo>();
  return {
    name,
    readings,
    statuses,
    awakened,
    devices,
    emit: (batch) => {
      readings.push(...batch);
      return Promise.resolve();
    },
    deviceChanged: (info) => devices.set(info.id, info),
    deviceRemoved: (id) => devices.delete(id),
    deviceAwake: (id) => awakened.push(id),
    setStatus: (state, detail) => statuses.push({ state, detail }),
    log: silentLogger(),
    stateDir: stateDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'fieldgate-zwave-'))),
    signal: controller.signal,
    now: () => Date.now(),
    abort: () => controller.abort(),
  };
}

/** Polls `condition` until it holds; generous by default because the test machine is slow and shared. */
export async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
