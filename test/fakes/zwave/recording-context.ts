import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeviceSettings } from '../../../adapters/adapter.js';
import type { DeviceId } from '../../../src/model.js';
import { RecordingContext as BaseRecordingContext } from '../recording-context.js';
import { waitFor } from '../wait-for.js';

/** A recording context that also answers `deviceSettings` from `settings`, as config `devices:` would. */
export class RecordingContext extends BaseRecordingContext {
  readonly settings = new Map<DeviceId, DeviceSettings>();
  deviceSettings(id: DeviceId): DeviceSettings | undefined {
    return this.settings.get(id);
  }
}

/**
 * A recording `AdapterContext` for the Z-Wave adapter, its state dir a fresh temp dir unless `stateDir`
 * is given (a restart test reuses the first run's, where the driver keeps its network cache).
 */
export async function recordingContext(name = 'zwave', stateDir?: string): Promise<RecordingContext> {
  return new RecordingContext(
    name,
    stateDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'fieldgate-zwave-'))),
  );
}

/** `waitFor` with the longer default the Z-Wave driver's start and retries need on a shared machine. */
export function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  return waitFor(condition, what, timeoutMs);
}
