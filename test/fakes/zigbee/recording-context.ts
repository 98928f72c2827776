import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DeviceSettings } from '../../../adapters/adapter.js';
import type { DeviceId } from '../../../src/model.js';
import { RecordingContext as BaseRecordingContext } from '../recording-context.js';

/**
 * The recording `AdapterContext` for the Zigbee adapter: a clock the test moves (`clockMs`) and a fresh
 * temp state dir, removed by `dispose`.
 */
export class RecordingContext extends BaseRecordingContext {
  clockMs = Date.parse('2025-06-01T12:00:00Z');
  /** What config `devices:` would say per device; a test sets entries before or while the adapter runs. */
  readonly settings = new Map<DeviceId, DeviceSettings>();

  private constructor(stateDir: string) {
    super('zigbee', stateDir);
  }

  static async create(): Promise<RecordingContext> {
    return new RecordingContext(await mkdtemp(path.join(os.tmpdir(), 'fg-zigbee-')));
  }

  override now(): number {
    return this.clockMs;
  }

  deviceSettings(id: DeviceId): DeviceSettings | undefined {
    return this.settings.get(id);
  }

  async dispose(): Promise<void> {
    this.abort();
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
