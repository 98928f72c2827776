import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AdapterContext, AdapterDefinition } from '../../adapters/adapter.js';
import { AdapterHost } from '../../src/adapter-host.js';
import { configSchema } from '../../src/config/schema.js';
import { DeviceSettingsTable } from '../../src/devices/device-settings.js';
import { silentLogger } from '../../src/logger.js';

/** A radio that keeps its context, as the Zigbee/Z-Wave/BLE adapters do, to read settings at each use. */
function recordingDefinition(seen: { ctx?: AdapterContext }): AdapterDefinition {
  return {
    type: 'sim',
    optionsSchema: z.object({}).loose(),
    create: () => ({
      start: (ctx) => {
        seen.ctx = ctx;
        return Promise.resolve();
      },
      stop: () => Promise.resolve(),
      devices: () => [],
      execute: (cmd) => Promise.resolve({ id: cmd.id, status: 'unsupported' }),
      isReachable: () => true,
    }),
  };
}

describe('AdapterContext.deviceSettings', () => {
  it('hands the radio its devices: entry, and the new one after a reload', async () => {
    const config = (devices: Record<string, unknown>) =>
      configSchema.parse({
        adapters: { zig: { type: 'zigbee', coordinator: 'ember', serialPort: '/dev/null' } },
        devices,
      });
    let table = new DeviceSettingsTable(
      config({
        'zig:0x1': { name: 'hall', reporting: { temperature: { minIntervalS: 5, maxIntervalS: 60 } } },
      }).devices,
    );
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-host-'));
    const seen: { ctx?: AdapterContext } = {};
    const sinks = {
      emit: () => Promise.resolve(),
      deviceChanged: () => undefined,
      deviceRemoved: () => undefined,
      deviceAwake: () => undefined,
    };
    const simEntry = configSchema.parse({ adapters: { zig: { type: 'sim' } } }).adapters.zig!;
    const host = new AdapterHost('zig', simEntry, sinks, {
      stateDir,
      log: silentLogger(),
      now: () => 0,
      deviceSettings: (id) => table.radioSettings(id),
      loadDefinition: () => Promise.resolve(recordingDefinition(seen)),
    });
    try {
      await host.start();
      expect(host.status().state).toBe('running');
      expect(seen.ctx?.deviceSettings?.('zig:0x1')).toEqual({
        name: 'hall',
        reporting: { temperature: { minIntervalS: 5, maxIntervalS: 60 } },
      });
      expect(seen.ctx?.deviceSettings?.('zig:0x2')).toBeUndefined();
      table = table.replaced(config({ 'zig:0x1': { converterOptions: { transition: 2 } } }).devices);
      expect(seen.ctx?.deviceSettings?.('zig:0x1')).toEqual({ converterOptions: { transition: 2 } });
    } finally {
      await host.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
