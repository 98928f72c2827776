import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIssue, loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf } from './narrow.js';

const BASE =
  'log:\n  level: info\nroutes:\n  local:\n    upstream:\n      type: mqtt\n      url: mqtt://127.0.0.1:1883\n';

describe('FIELDGATE__ environment overrides', () => {
  let dir: ConfigDir;
  let file: string;
  beforeEach(async () => {
    dir = await makeConfigDir();
    file = await dir.write('fieldgate.yaml', BASE);
  });
  afterEach(() => dir.remove());

  it('matches segments case-insensitively and parses values as YAML scalars', async () => {
    const { config } = await loadConfig(file, {
      env: {
        FIELDGATE__QUEUE__MAXBYTES: '500',
        FIELDGATE__QUEUE__OVERFLOW: 'block',
        FIELDGATE__EMULATORS__MQTT__ENABLED: 'true',
        FIELDGATE__ROUTES__LOCAL__UPSTREAM__URL: 'mqtts://broker.example.com:8883',
        FIELDGATE__ROUTES__LOCAL__DRAIN: 'fifo',
        FIELDGATE__GATEWAY__ID: 'from-env',
        UNRELATED: 'ignored',
      },
    });
    expect(config.queue.maxBytes).toBe(500);
    expect(config.queue.overflow).toBe('block');
    expect(config.emulators.mqtt.enabled).toBe(true);
    expect(mqttUpstreamOf(config, 'local').url).toBe('mqtts://broker.example.com:8883');
    expect(config.routes['local']?.drain).toBe('fifo');
    expect(config.gateway.id).toBe('from-env');
  });

  it('names the variable, not a file position, when an override is invalid', async () => {
    const failure = await loadConfig(file, {
      env: { FIELDGATE__QUEUE__OVERFLOW: 'sideways', FIELDGATE__QUEUE__MAXBYTEZ: '1' },
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'FG_CONFIG_INVALID' });
    const errors = (failure as { context: { errors: ConfigIssue[] } }).context.errors.map(formatIssue);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^FIELDGATE__QUEUE__OVERFLOW: queue\.overflow: .*"dropOldest"/),
        'FIELDGATE__QUEUE__MAXBYTEZ: queue.maxbytez: unknown key "maxbytez" (did you mean "maxBytes"?)',
      ]),
    );
    expect(errors).toHaveLength(2);
  });

  it('cannot set a key below a scalar', async () => {
    const failure = await loadConfig(file, { env: { FIELDGATE__LOG__LEVEL__X: '1' } }).catch(
      (e: unknown) => e,
    );
    const errors = (failure as { context: { errors: ConfigIssue[] } }).context.errors;
    expect(errors.map(formatIssue)).toEqual([
      'FIELDGATE__LOG__LEVEL__X: log.level.x: cannot be set: a parent key is not a mapping',
    ]);
  });

  it('names the variable for a problem in a section the override created', async () => {
    const failure = await loadConfig(file, { env: { FIELDGATE__ROUTES__CLOUD__DRAIN: 'fifo' } }).catch(
      (e: unknown) => e,
    );
    const errors = (failure as { context: { errors: ConfigIssue[] } }).context.errors;
    expect(errors.map(formatIssue)).toEqual([
      expect.stringMatching(/^FIELDGATE__ROUTES__CLOUD__DRAIN: routes\.cloud\.upstream: /),
    ]);
  });
});
