import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AdapterContext, AdapterDefinition } from '../../adapters/adapter.js';
import { AdapterHost } from '../../src/adapter-host.js';
import { configSchema } from '../../src/config/schema.js';
import { DeviceSettingsTable } from '../../src/devices/device-settings.js';
import { createLogger, silentLogger } from '../../src/logger.js';

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

describe('AdapterHost.settingsChanged (a reload applied config `devices:`)', () => {
  it('tells the radio; a radio that throws is logged once, not thrown; nothing after stop', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-host-'));
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      destination: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream,
    });
    let calls = 0;
    let fails = false;
    const definition: AdapterDefinition = {
      type: 'sim',
      optionsSchema: z.object({}).loose(),
      create: () => ({
        start: () => Promise.resolve(),
        stop: () => Promise.resolve(),
        devices: () => [],
        execute: (cmd) => Promise.resolve({ id: cmd.id, status: 'unsupported' }),
        isReachable: () => true,
        settingsChanged: () => {
          calls += 1;
          if (fails) throw new Error('radio says no');
        },
      }),
    };
    const simEntry = configSchema.parse({ adapters: { zw: { type: 'sim' } } }).adapters.zw!;
    const sinks = {
      emit: () => Promise.resolve(),
      deviceChanged: () => undefined,
      deviceRemoved: () => undefined,
      deviceAwake: () => undefined,
    };
    const host = new AdapterHost('zw', simEntry, sinks, {
      stateDir,
      log,
      now: () => 0,
      loadDefinition: () => Promise.resolve(definition),
    });
    try {
      await host.start();
      host.settingsChanged();
      expect(calls).toBe(1);

      fails = true;
      expect(() => host.settingsChanged()).not.toThrow();
      expect(calls).toBe(2);
      expect(lines.filter((l) => l.includes('could not apply the new device settings'))).toHaveLength(1);
      expect(host.status().state).toBe('running');

      await host.stop();
      host.settingsChanged();
      expect(calls).toBe(2);
    } finally {
      await host.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
