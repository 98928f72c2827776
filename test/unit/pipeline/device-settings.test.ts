import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { DeviceSettingsTable } from '../../../src/devices/device-settings.js';
import type { Reading } from '../../../src/model.js';
import { AggregateStage } from '../../../src/pipeline/aggregate.js';
import { DebounceStage } from '../../../src/pipeline/debounce.js';
import { DeviceStage, roundTo, withoutNoise } from '../../../src/pipeline/device-stage.js';
import { buildStages } from '../../../src/pipeline/pipeline.js';
import type { Stage } from '../../../src/pipeline/stage.js';

/** The config as loaded, for a `devices:` section and a `pipeline:` section. */
function parse(devices: Record<string, unknown>, pipeline: Record<string, unknown> = {}) {
  return configSchema.parse({
    adapters: {
      sim: { type: 'sim' },
      zigbee: { type: 'zigbee', coordinator: 'ember', serialPort: '/dev/null' },
    },
    devices,
    pipeline,
  });
}

function run(stages: Stage[], readings: Reading[]): Reading[] {
  return readings.flatMap((reading) =>
    stages.reduce<Reading[]>((batch, stage) => stage.process(batch, reading.ts), [reading]),
  );
}

const climate = (ts: number, values: Reading['values']): Reading => ({
  device: 'sim:climate-01',
  ts,
  values,
});

describe('devices: in the pipeline', () => {
  it('names readings, adds the calibration offset, then rounds to the precision', () => {
    const config = parse({
      'sim:climate-01': {
        name: 'living room',
        calibration: { temperature: -0.5, humidity: 2 },
        precision: { temperature: 1, humidity: 0 },
      },
    });
    const table = new DeviceSettingsTable(config.devices);
    const out = run(
      buildStages(config.pipeline, () => table),
      [
        climate(1, { temperature: 21.56, humidity: 40.4, pressure: 1013.2, state: 'ok' }),
        { device: 'sim:climate-02', ts: 1, values: { temperature: 19.123 } },
      ],
    );
    expect(out).toEqual([
      {
        device: 'sim:climate-01',
        name: 'living room',
        ts: 1,
        values: { temperature: 21.1, humidity: 42, pressure: 1013.2, state: 'ok' },
      },
      { device: 'sim:climate-02', ts: 1, values: { temperature: 19.123 } },
    ]);
  });

  it.each([
    [0.1 + 0.2, 0.3],
    [-(0.1 + 0.2), -0.3],
    [1.2 * 3, 3.6],
    [100.1 + 0.2, 100.3],
    [12.34567890123456, 12.3456789012346],
    [0.1, 0.1],
    [1e-7 * 3, 3e-7],
    [2 ** 53 + 2, 2 ** 53 + 2],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  ])('removes float noise: %d → %d', (input, expected) => {
    expect(withoutNoise(input)).toBe(expected);
  });

  it('rounds halves as written (1.005 → 1.01), not as the binary double nearest to them', () => {
    expect(roundTo(1.005, 2)).toBe(1.01);
    expect(roundTo(-0.25, 1)).toBe(-0.3);
    expect(roundTo(21.04999, 1)).toBe(21);
  });

  it('a device filter overrides the global one for that device only, deadband value by value', () => {
    const config = parse(
      { 'sim:climate-01': { filter: { deadband: { temperature: 1 }, reportOnChange: false } } },
      { filter: { deadband: { temperature: 0.1, humidity: 5 }, reportOnChange: true } },
    );
    const table = new DeviceSettingsTable(config.devices);
    const stages = buildStages(config.pipeline, () => table);
    const other = (ts: number, temperature: number): Reading => ({
      device: 'sim:climate-02',
      ts,
      values: { temperature },
    });
    const out = run(stages, [
      climate(1, { temperature: 20, humidity: 40, state: 'a' }),
      climate(2, { temperature: 20.5, humidity: 42, state: 'a' }),
      climate(3, { temperature: 21, humidity: 46, state: 'a' }),
      other(1, 20),
      other(2, 20.5),
    ]);
    expect(out.map((r) => [r.device, r.values])).toEqual([
      ['sim:climate-01', { temperature: 20, humidity: 40, state: 'a' }],
      // 0.5 < its own deadband 1; humidity keeps the global 5; reportOnChange is off for this device.
      ['sim:climate-01', { state: 'a' }],
      ['sim:climate-01', { temperature: 21, humidity: 46, state: 'a' }],
      ['sim:climate-02', { temperature: 20 }],
      ['sim:climate-02', { temperature: 20.5 }],
    ]);
  });

  it('throttleMs drops whole readings, presses included, until the interval has passed', () => {
    const config = parse({ 'sim:climate-01': { filter: { throttleMs: 1000 } } });
    const table = new DeviceSettingsTable(config.devices);
    const out = run(
      buildStages(config.pipeline, () => table),
      [
        climate(0, { temperature: 20 }),
        climate(500, { temperature: 21, action: 'single' }),
        climate(1000, { temperature: 22 }),
      ],
    );
    expect(out.map((r) => r.ts)).toEqual([0, 1000]);
  });

  it('debounceMs merges a burst into one reading after the quiet time; a press leaves at once', () => {
    const config = parse({ 'sim:climate-01': { filter: { debounceMs: 300 } } });
    const table = new DeviceSettingsTable(config.devices);
    const stage = new DebounceStage((id) => table.profile(id));
    expect(stage.process([climate(0, { temperature: 20, humidity: 40 })], 0)).toEqual([]);
    expect(stage.process([climate(100, { temperature: 21, action: 'single' })], 100)).toEqual([
      climate(100, { action: 'single' }),
    ]);
    expect(stage.flush(300, false)).toEqual([]);
    expect(stage.flush(400, false)).toEqual([climate(100, { temperature: 21, humidity: 40 })]);
    expect(stage.flush(1000, true)).toEqual([]);
    expect(stage.process([{ device: 'sim:x', ts: 1, values: { a: 1 } }], 1)).toHaveLength(1);
  });

  it('an entry keyed by a name applies once a device announces itself under that name', () => {
    const config = parse({ 'porch sensor': { calibration: { temperature: 1 } } });
    const table = new DeviceSettingsTable(config.devices);
    const stage = new DeviceStage((id) => table.profile(id));
    expect(stage.process([climate(1, { temperature: 20 })], 1)[0]!.values.temperature).toBe(20);
    table.announced('sim:climate-01', 'Porch Sensor');
    expect(stage.process([climate(2, { temperature: 20 })], 2)[0]).toEqual({
      ...climate(2, { temperature: 21 }),
      name: 'porch sensor',
    });
    // A reload keeps the binding: the new table knows what the devices announced.
    const next = table.replaced(parse({ 'porch sensor': { calibration: { temperature: 2 } } }).devices);
    expect(next.profile('sim:climate-01')?.calibration).toEqual({ temperature: 2 });
  });

  it('radios see their own fields and the name, only from entries keyed by id', () => {
    const config = parse({
      'zigbee:0x00158d0001a2b3c4': {
        name: 'hall bulb',
        converterOptions: { transition: 1 },
        reporting: { temperature: { minIntervalS: 10, maxIntervalS: 600 } },
      },
    });
    const table = new DeviceSettingsTable(config.devices, (id) => (id === 'sim:a' ? 'stored' : undefined));
    expect(table.radioSettings('zigbee:0x00158d0001a2b3c4')).toEqual({
      name: 'hall bulb',
      converterOptions: { transition: 1 },
      reporting: { temperature: { minIntervalS: 10, maxIntervalS: 600 } },
    });
    expect(table.radioSettings('sim:a')).toEqual({ name: 'stored' });
    expect(table.radioSettings('sim:b')).toBeUndefined();
  });

  it('an aggregated reading keeps the name, and its mean has no float noise', () => {
    const stage = new AggregateStage(
      configSchema.parse({ pipeline: { aggregate: { windowMs: 1000, functions: ['mean'] } } }).pipeline
        .aggregate,
    );
    stage.process([{ ...climate(1, { power: 0.1 }), name: 'plug' }], 1);
    stage.process([{ ...climate(2, { power: 0.2 }), name: 'plug' }], 2);
    expect(stage.flush(1000, false)).toEqual([
      { device: 'sim:climate-01', name: 'plug', ts: 1000, values: { powerMean: 0.15 }, units: {} },
    ]);
  });
});
