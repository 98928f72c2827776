import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigIssue } from '../../../src/config/issues.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf } from './narrow.js';

// The pattern `fieldgate init` writes and the unit's LoadCredential= lines serve.
const CONFIG = [
  'routes:',
  '  cloud:',
  '    upstream:',
  '      type: mqtt',
  '      url: mqtts://broker.example:8883',
  '      username: gw',
  '      passwordFile: ${CREDENTIALS_DIRECTORY}/mqtt-password',
  '',
].join('\n');

async function issuesOf(promise: Promise<unknown>): Promise<{ code: string; issues: ConfigIssue[] }> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; context: { errors: ConfigIssue[] } } | undefined;
  if (error === undefined) throw new Error('the config loaded');
  return { code: error.code, issues: error.context.errors };
}

describe('${CREDENTIALS_DIRECTORY} from a shell and under systemd', () => {
  let dir: ConfigDir;
  let file: string;
  beforeEach(async () => {
    dir = await makeConfigDir();
    file = await dir.write('fieldgate.yaml', CONFIG);
    await mkdir(path.join(dir.dir, 'store'));
  });
  afterEach(() => dir.remove());

  it('under systemd reads the credential from CREDENTIALS_DIRECTORY', async () => {
    await dir.write('store/mqtt-password', 'from-systemd\n');
    const { config } = await loadConfig(file, {
      env: { CREDENTIALS_DIRECTORY: path.join(dir.dir, 'store') },
    });
    expect(mqttUpstreamOf(config, 'cloud').password).toBe('from-systemd');
  });

  it('from a shell reads the same file from the directory the unit loads it from', async () => {
    await dir.write('store/mqtt-password', 'from-the-store\n');
    const { config } = await loadConfig(file, {
      env: { FIELDGATE_CREDENTIALS_DIR: path.join(dir.dir, 'store') },
    });
    expect(mqttUpstreamOf(config, 'cloud').password).toBe('from-the-store');
  });

  it('from a shell without that directory, says which credential is missing and where to put it', async () => {
    const store = path.join(dir.dir, 'absent');
    const { code, issues } = await issuesOf(loadConfig(file, { env: { FIELDGATE_CREDENTIALS_DIR: store } }));
    expect(code).toBe('FG_CONFIG_SECRET_MISSING');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 7, path: 'routes.cloud.upstream.passwordFile' });
    expect(issues[0]!.message).toContain('CREDENTIALS_DIRECTORY is not set');
    expect(issues[0]!.message).toContain(
      `credential "mqtt-password" is missing: put it in ${store}/mqtt-password`,
    );
    expect(issues[0]!.message).toContain('mode 0600, owned by root');
  });

  it('with the directory but not the file, names the credential and the file to write', async () => {
    const store = path.join(dir.dir, 'store');
    const { issues } = await issuesOf(loadConfig(file, { env: { FIELDGATE_CREDENTIALS_DIR: store } }));
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining(
        `credential "mqtt-password" is missing: put it in ${store}/mqtt-password, mode 0600`,
      ),
    ]);
  });

  it('under systemd, an empty credential (the unit default for one never written) is missing, not an empty password', async () => {
    await dir.write('store/mqtt-password', '\n');
    const { issues } = await issuesOf(
      loadConfig(file, {
        env: {
          CREDENTIALS_DIRECTORY: path.join(dir.dir, 'store'),
          FIELDGATE_CREDENTIALS_DIR: '/etc/fg-creds',
        },
      }),
    );
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringContaining('credential "mqtt-password" is missing: put it in /etc/fg-creds/mqtt-password'),
    ]);
  });

  it('leaves other ${VAR} references as they were: an unset one is still reported by name', async () => {
    const other = await dir.write(
      'other.yaml',
      CONFIG.replace('${CREDENTIALS_DIRECTORY}/mqtt-password', '${PW_FILE}'),
    );
    const { issues } = await issuesOf(loadConfig(other, { env: {} }));
    expect(issues.map((i) => i.message)).toEqual(['environment variable PW_FILE is not set']);
  });
});
