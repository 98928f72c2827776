import { readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { withDeviceName, writeDeviceName } from '../../../src/devices/config-names.js';
import { isFieldgateError } from '../../../src/errors.js';
import { makeConfigDir } from '../config/config-dir.js';

const CONFIG = `# The barn gateway.
gateway:
  id: barn # short, it is in every topic

adapters:
  sim:
    type: sim # the simulated fleet
    seed: 7

# Names and calibration per device.
devices:
  sim:climate-01:
    name: 'living room'
    calibration: { temperature: -0.5 } # reads high
`;

describe('devices rename writes config devices:', () => {
  it('sets the name of an existing entry and keeps every comment, quote and flow mapping', () => {
    const out = withDeviceName(CONFIG, 'gw.yaml', 'sim:climate-01', 'lounge');
    expect(out).toBe(CONFIG.replace("name: 'living room'", "name: 'lounge'"));
  });

  it('adds an entry, and a devices: section when there is none', () => {
    const added = withDeviceName(CONFIG, 'gw.yaml', 'sim:switch-01', 'porch light');
    expect(added).toBe(`${CONFIG}  sim:switch-01:\n    name: porch light\n`);
    const text = 'gateway:\n  id: barn # short\n';
    expect(withDeviceName(text, 'gw.yaml', 'sim:switch-01', 'porch')).toBe(
      `${text}devices:\n  sim:switch-01:\n    name: porch\n`,
    );
    expect(withDeviceName('devices:\n', 'gw.yaml', 'sim:a', 'x')).toBe('devices:\n  sim:a:\n    name: x\n');
  });

  it('writes the file in place with its mode, and refuses a name another device has, file unchanged', async () => {
    const dir = await makeConfigDir();
    try {
      const file = await dir.write('fieldgate.yaml', CONFIG);
      const loaded = await writeDeviceName(file, 'sim:climate-02', 'kitchen', {});
      expect(loaded.config.devices['sim:climate-02']?.name).toBe('kitchen');
      expect(await readFile(file, 'utf8')).toContain('# Names and calibration per device.');
      expect((await stat(file)).mode & 0o777).toBe(0o600);

      const before = await readFile(file, 'utf8');
      const error: unknown = await writeDeviceName(file, 'sim:climate-03', 'Kitchen', {}).catch(
        (e: unknown) => e,
      );
      expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toContain(`${file}:`);
      expect((error as Error).message).toContain('the name "Kitchen" is already given to');
      expect(await readFile(file, 'utf8')).toBe(before);
    } finally {
      await dir.remove();
    }
  });
});
