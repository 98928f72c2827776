import { describe, expect, it } from 'vitest';
import { formatIssue } from '../../../src/config/issues.js';
import { loadConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { secretKindAt } from '../../../src/config/secret-fields.js';
import { validateDocument } from '../../../src/config/validate.js';
import { parseYamlSource } from '../../../src/config/yaml-source.js';
import { exitCodeFor, isFieldgateError } from '../../../src/errors.js';
import { makeConfigDir } from './config-dir.js';

const ADAPTERS = [
  'adapters:',
  '  sim:',
  '    type: sim',
  '  zig:',
  '    type: zigbee',
  '    coordinator: ember',
  '    serialPort: /dev/null',
  '  ble:',
  '    type: ble',
];

/** The issues of a config made of the adapters above and `devices` lines, as the CLI prints them. */
function issues(...devices: string[]): string[] {
  const { source } = parseYamlSource([...ADAPTERS, 'devices:', ...devices, ''].join('\n'), 'gw.yaml');
  return validateDocument(source, []).issues.map(formatIssue);
}

describe('the devices: section', () => {
  it('accepts ids, names and every per-device setting', () => {
    const { source } = parseYamlSource(
      [
        ...ADAPTERS,
        'devices:',
        '  sim:climate-01:',
        '    name: living room',
        '    calibration: { temperature: -0.5 }',
        '    precision: { temperature: 1 }',
        '    filter: { deadband: { temperature: 0.2 }, debounceMs: 500, throttleMs: 1000 }',
        '  zig:0x00158d0001a2b3c4:',
        '    converterOptions: { transition: 2 }',
        '    reporting: { temperature: { minIntervalS: 10, maxIntervalS: 600, change: 0.1 } }',
        '  ble:a4:c1:38:0b:5e:ed:',
        '    bindkey: 231d39c1d7cc1ab1aee224cd096db932',
        '  porch sensor:',
        '    calibration: { temperature: 1 }',
      ].join('\n'),
      'gw.yaml',
    );
    const { config, issues: found } = validateDocument(source, []);
    expect(found).toEqual([]);
    expect(config?.devices['sim:climate-01']?.name).toBe('living room');
    expect(config?.devices['ble:a4:c1:38:0b:5e:ed']?.bindkey).toBe('231d39c1d7cc1ab1aee224cd096db932');
  });

  it('points at a device id whose adapter is not configured', () => {
    expect(issues('  zigbee:0x00158d0001a2b3c4:', '    name: hall')).toEqual([
      'gw.yaml:11:3: devices.zigbee:0x00158d0001a2b3c4: unknown adapter "zigbee" in device id ' +
        '"zigbee:0x00158d0001a2b3c4"; expected one of ble, sim, zig',
    ]);
  });

  it('points at a radio setting given to a device of another radio, or keyed by a name', () => {
    expect(
      issues(
        '  zig:0x00158d0001a2b3c4:',
        '    bindkey: 231d39c1d7cc1ab1aee224cd096db932',
        '  sim:climate-01:',
        '    configuration: { "3": 1 }',
        '  porch:',
        '    reporting: { temperature: { minIntervalS: 1, maxIntervalS: 2 } }',
      ),
    ).toEqual([
      'gw.yaml:12:5: devices.zig:0x00158d0001a2b3c4.bindkey: bindkey is a ble setting, but adapter "zig" is zigbee',
      'gw.yaml:14:5: devices.sim:climate-01.configuration: configuration is a zwave setting, but adapter "sim" is sim',
      'gw.yaml:16:5: devices.porch.reporting: reporting is a zigbee setting: key this entry by the device id ' +
        '(zigbee-adapter:…), not by a name',
    ]);
  });

  it('points at bad values: a name with a wildcard, a negative precision, a bad key, swapped intervals', () => {
    expect(
      issues(
        '  sim:climate-01:',
        '    name: "kitchen/#"',
        '    precision: { temperature: -1 }',
        '    filter: { debounceMs: soon }',
        '  zig:0x1:',
        '    bindkey: nope',
        '    reporting: { temperature: { minIntervalS: 60, maxIntervalS: 10 } }',
      ),
    ).toEqual([
      'gw.yaml:12:11: devices.sim:climate-01.name: a name may not contain + # : or control characters, ' +
        'nor start or end with a blank',
      'gw.yaml:14:27: devices.sim:climate-01.filter.debounceMs: expected number, got "soon"',
      'gw.yaml:13:31: devices.sim:climate-01.precision.temperature: Too small: expected number to be >=0',
      'gw.yaml:17:47: devices.zig:0x1.reporting.temperature.minIntervalS: minIntervalS must not exceed maxIntervalS',
      'gw.yaml:16:14: devices.zig:0x1.bindkey: expected 32 hex digits',
      'gw.yaml:16:5: devices.zig:0x1.bindkey: bindkey is a ble setting, but adapter "zig" is zigbee',
    ]);
  });

  it('takes Z-Wave configuration parameters 1–255 only', () => {
    const yaml =
      'adapters:\n  zw:\n    type: zwave\n    serialPort: /dev/null\ndevices:\n  zw:e3b1c2d4-5:\n    configuration: { "3": 1, "256": 2 }\n';
    const { source } = parseYamlSource(yaml, 'zw.yaml');
    expect(validateDocument(source, []).issues.map(formatIssue)).toEqual([
      'zw.yaml:7:30: devices.zw:e3b1c2d4-5.configuration.256: invalid name "256": expected a parameter number (1–255)',
    ]);
  });

  it('refuses a name two entries share, ignoring case', () => {
    expect(issues('  sim:a:', '    name: Kitchen', '  kitchen:', '    precision: { t: 1 }')).toEqual([
      'gw.yaml:13:3: devices.kitchen: the name "kitchen" is already given to sim:a; names must be unique (case is ignored)',
    ]);
  });

  it('fails loading with FG_CONFIG_INVALID (exit 78), and bindkey is a secret', async () => {
    const dir = await makeConfigDir();
    try {
      const file = await dir.write(
        'gw.yaml',
        [...ADAPTERS, 'devices:', '  nope:x:', '    name: x', ''].join('\n'),
      );
      const error: unknown = await loadConfig(file, { env: {} }).catch((e: unknown) => e);
      expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
      expect(exitCodeFor(error)).toBe(78);
      expect((error as Error).message).toContain(`${file}:11:3: devices.nope:x: unknown adapter "nope"`);
    } finally {
      await dir.remove();
    }
    expect(secretKindAt(configSchema, ['devices', 'ble:a4:c1:38:0b:5e:ed', 'bindkey'])).toBe('value');
  });
});
