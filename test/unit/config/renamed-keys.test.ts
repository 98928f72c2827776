import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { formatIssue, loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';

/** A Zigbee adapter entry with `lines` as its options, at line 4 onwards. */
const zigbeeConfig = (...lines: string[]) =>
  [
    'adapters:',
    '  zb:',
    '    type: zigbee',
    '    coordinator: ember',
    ...lines.map((l) => `    ${l}`),
    '',
  ].join('\n');

const zigbeeOf = (config: Awaited<ReturnType<typeof loadConfig>>['config']) => {
  const entry = config.adapters['zb'];
  if (entry?.type !== 'zigbee') throw new Error('no zigbee adapter zb');
  return entry;
};

describe('renamed adapter keys', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  const relative = (issue: ConfigIssue) => formatIssue({ ...issue, file: path.basename(issue.file) });

  it('takes Zigbee port and reconnect as serialPort and reopen, with a warning at each old key', async () => {
    const file = await dir.write(
      'fieldgate.yaml',
      zigbeeConfig('port: /dev/ttyUSB0', 'reconnect:', '  initialMs: 500', '  maxMs: 5000'),
    );
    const { config, warnings } = await loadConfig(file, { env: {} });
    expect(zigbeeOf(config)).toMatchObject({
      serialPort: '/dev/ttyUSB0',
      reopen: { initialMs: 500, maxMs: 5000 },
    });
    expect(zigbeeOf(config)).not.toHaveProperty('port');
    expect(zigbeeOf(config)).not.toHaveProperty('reconnect');
    expect(warnings.map(relative)).toEqual([
      'fieldgate.yaml:5:5: adapters.zb.port: warning: "port" is deprecated; rename it to "serialPort" (its value is used as "serialPort")',
      'fieldgate.yaml:6:5: adapters.zb.reconnect: warning: "reconnect" is deprecated; rename it to "reopen" (its value is used as "reopen")',
    ]);
  });

  it('loads the new names without a warning', async () => {
    const file = await dir.write(
      'fieldgate.yaml',
      zigbeeConfig('serialPort: /dev/ttyUSB0', 'reopen:', '  initialMs: 500'),
    );
    const { config, warnings } = await loadConfig(file, { env: {} });
    expect(zigbeeOf(config)).toMatchObject({ serialPort: '/dev/ttyUSB0', reopen: { initialMs: 500 } });
    expect(warnings).toEqual([]);
  });

  it('refuses an entry that gives both the old and the new name (exit 78), once, at the old key', async () => {
    const file = await dir.write(
      'fieldgate.yaml',
      zigbeeConfig('port: /dev/ttyUSB0', 'serialPort: /dev/ttyUSB1'),
    );
    const error = await loadConfig(file, { env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
    const errors = (error as { context: { errors: ConfigIssue[] } }).context.errors.map(relative);
    expect(errors).toEqual([
      'fieldgate.yaml:5:5: adapters.zb.port: "port" is the old name of "serialPort" and both are given; keep only "serialPort"',
    ]);
  });

  it('names the variable when an override uses the old name', async () => {
    const file = await dir.write('fieldgate.yaml', zigbeeConfig());
    const { config, warnings } = await loadConfig(file, {
      env: { FIELDGATE__ADAPTERS__ZB__PORT: 'tcp://192.0.2.1:6638' },
    });
    expect(zigbeeOf(config).serialPort).toBe('tcp://192.0.2.1:6638');
    expect(warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^FIELDGATE__ADAPTERS__ZB__PORT: adapters\.zb\.port: warning: "port" is deprecated/,
      ),
    ]);
  });

  it('leaves a key of the same name alone in another adapter type', async () => {
    const file = await dir.write(
      'fieldgate.yaml',
      ['adapters:', '  sim:', '    type: sim', '    port: 1', ''].join('\n'),
    );
    const error = await loadConfig(file, { env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFieldgateError(error, 'FG_CONFIG_INVALID')).toBe(true);
  });
});
