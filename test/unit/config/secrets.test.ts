import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { formatIssue, loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf } from './narrow.js';

function route(upstream: string): string {
  return `routes:\n  local:\n    upstream:\n      type: mqtt\n      url: mqtt://127.0.0.1:1883\n${upstream}`;
}

describe('secrets, ${ENV} and *File keys', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  async function failure(
    file: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ code: string; lines: string[] }> {
    try {
      await loadConfig(file, { env });
    } catch (error) {
      if (!isFieldgateError(error)) throw error;
      const errors = error.context?.['errors'] as ConfigIssue[];
      return {
        code: error.code,
        lines: errors.map((issue) => formatIssue({ ...issue, file: path.basename(issue.file) })),
      };
    }
    throw new Error('loaded without errors');
  }

  it('replaces !secret with the value from secrets.yaml beside the config file', async () => {
    await dir.write('secrets.yaml', 'broker-password: s3cret-Pw\npin: 1234\n');
    const file = await dir.write(
      'fieldgate.yaml',
      route('      password: !secret broker-password\n      username: !secret pin\n'),
    );
    const { config, secrets } = await loadConfig(file, { env: {} });
    expect(mqttUpstreamOf(config, 'local').password).toBe('s3cret-Pw');
    expect(mqttUpstreamOf(config, 'local').username).toBe('1234');
    expect(secrets).toEqual(expect.arrayContaining(['s3cret-Pw', '1234']));
  });

  it('reports a missing secrets.yaml at the tag, with a hint, and nothing else there', async () => {
    const file = await dir.write('fieldgate.yaml', route('      password: !secret broker-password\n'));
    const { code, lines } = await failure(file);
    expect(code).toBe('FG_CONFIG_SECRET_MISSING');
    expect(lines).toEqual([
      expect.stringMatching(
        /^fieldgate\.yaml:6:17: routes\.local\.upstream\.password: secret "broker-password" is missing: .*secrets\.yaml cannot be read; create it .*`broker-password: <value>`/,
      ),
    ]);
  });

  it('reports a name that secrets.yaml does not define, alongside other errors', async () => {
    await dir.write('secrets.yaml', 'other: x\n');
    const file = await dir.write(
      'fieldgate.yaml',
      `log:\n  level: loud\n${route('      password: !secret broker-password\n')}`,
    );
    const { code, lines } = await failure(file);
    expect(code).toBe('FG_CONFIG_SECRET_MISSING');
    expect(lines).toEqual([
      expect.stringMatching(/^fieldgate\.yaml:2:10: log\.level: /),
      expect.stringMatching(
        /^fieldgate\.yaml:8:17: .*secret "broker-password" is missing: it is not defined in .*secrets\.yaml/,
      ),
    ]);
  });

  it('interpolates ${VAR} in any string and keeps $${ as a literal ${', async () => {
    const file = await dir.write(
      'fieldgate.yaml',
      `gateway:\n  id: \${SITE}-gw\n${route('      password: "${MQTT_PASSWORD}"\n      clientId: "a$${b}"\n')}`,
    );
    const { config, secrets } = await loadConfig(file, {
      env: { SITE: 'barn', MQTT_PASSWORD: 'pw-from-env' },
    });
    expect(config.gateway.id).toBe('barn-gw');
    expect(mqttUpstreamOf(config, 'local').password).toBe('pw-from-env');
    expect(mqttUpstreamOf(config, 'local').clientId).toBe('a${b}');
    expect(secrets).toContain('pw-from-env');
  });

  it('reports an unset variable at its position', async () => {
    const file = await dir.write('fieldgate.yaml', route('      password: ${MQTT_PASSWORD}\n'));
    const { code, lines } = await failure(file);
    expect(code).toBe('FG_CONFIG_SECRET_MISSING');
    expect(lines).toEqual([
      'fieldgate.yaml:6:17: routes.local.upstream.password: environment variable MQTT_PASSWORD is not set',
    ]);
  });

  it('reads passwordFile (trimmed, relative to the config) into password, and leaves TLS files as paths', async () => {
    await dir.write('mqtt-password', '  from-a-file\n');
    const file = await dir.write(
      'fieldgate.yaml',
      route('      passwordFile: mqtt-password\n      tls:\n        keyFile: client.key\n'),
    );
    const { config, secrets } = await loadConfig(file, { env: {} });
    const upstream = mqttUpstreamOf(config, 'local');
    expect(upstream?.password).toBe('from-a-file');
    expect(upstream?.tls?.keyFile).toBe(path.join(dir.dir, 'client.key'));
    expect(secrets).toContain('from-a-file');
  });

  it('reports a passwordFile that cannot be read at its value', async () => {
    const file = await dir.write('fieldgate.yaml', route('      passwordFile: missing-password\n'));
    const { code, lines } = await failure(file);
    expect(code).toBe('FG_CONFIG_SECRET_MISSING');
    expect(lines).toEqual([
      `fieldgate.yaml:6:21: routes.local.upstream.passwordFile: cannot read ${path.join(dir.dir, 'missing-password')} (ENOENT)`,
    ]);
  });

  it('refuses password and passwordFile together', async () => {
    await dir.write('mqtt-password', 'x');
    const file = await dir.write(
      'fieldgate.yaml',
      route('      password: a\n      passwordFile: mqtt-password\n'),
    );
    const { lines } = await failure(file);
    expect(lines).toEqual([
      'fieldgate.yaml:7:7: routes.local.upstream.passwordFile: set either password or passwordFile, not both',
    ]);
  });
});
