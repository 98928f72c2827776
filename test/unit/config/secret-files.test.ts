import { chmod, chown } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIssue, loadConfig, type ConfigIssue } from '../../../src/config/load.js';
import { isFieldgateError } from '../../../src/errors.js';
import { makeConfigDir, type ConfigDir } from './config-dir.js';
import { mqttUpstreamOf } from './narrow.js';

const ROUTE = 'routes:\n  local:\n    upstream:\n      type: mqtt\n      url: mqtt://127.0.0.1:1883\n';

/** Secret files are read only when private (0600-like, owned by the service user or root), like ssh keys. */
describe('secret files', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  async function refusal(file: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
    try {
      await loadConfig(file, { env });
    } catch (error) {
      if (!isFieldgateError(error, 'FG_CONFIG_SECRET_MISSING')) throw error;
      return (error.context?.['errors'] as ConfigIssue[]).map(formatIssue);
    }
    throw new Error('loaded without errors');
  }

  it.each(['0644', '0604', '0660', '0620'])(
    'refuses a passwordFile with mode %s, saying the fix',
    async (shown) => {
      const mode = Number.parseInt(shown, 8);
      const secret = await dir.write('mqtt-password', 'file-password-123\n');
      await chmod(secret, mode);
      const file = await dir.write('fieldgate.yaml', `${ROUTE}      passwordFile: mqtt-password\n`);
      const lines = await refusal(file);
      expect(lines).toEqual([
        expect.stringContaining(
          `routes.local.upstream.passwordFile: secret file ${secret} has mode 0${mode.toString(8)}`,
        ),
      ]);
      expect(lines[0]).toContain(`chmod 0600 ${secret}`);
      expect(lines.join('\n')).not.toContain('file-password-123');
    },
  );

  it('refuses a world-readable secrets.yaml once, with its path, mode and fix, and reads none of it', async () => {
    const secrets = await dir.write('secrets.yaml', 'broker-password: yaml-password-123\n');
    await chmod(secrets, 0o644);
    const file = await dir.write(
      'fieldgate.yaml',
      `${ROUTE}      password: !secret broker-password\n      username: !secret broker-password\n`,
    );
    const lines = await refusal(file);
    expect(lines).toEqual([
      `${secrets}: secret file ${secrets} has mode 0644, open to group and others; it is not read until it is private: chmod 0600 ${secrets}`,
    ]);
  });

  it.runIf(process.getuid?.() === 0)('refuses a secret file owned by another user (not root)', async () => {
    const secret = await dir.write('mqtt-password', 'file-password-123\n');
    await chown(secret, 65534, 65534);
    const file = await dir.write('fieldgate.yaml', `${ROUTE}      passwordFile: mqtt-password\n`);
    const lines = await refusal(file);
    expect(lines[0]).toMatch(
      /is owned by uid 65534, not by the service user \S+ \(uid 0\) or root; .*chown \S+ /,
    );
  });

  it("reads a 0640 file whose group is the daemon's own (root:fieldgate under the unit)", async () => {
    const secret = await dir.write('mqtt-password', 'file-password-123\n');
    await chmod(secret, 0o640);
    const file = await dir.write('fieldgate.yaml', `${ROUTE}      passwordFile: mqtt-password\n`);
    const { config } = await loadConfig(file, { env: {} });
    expect(mqttUpstreamOf(config, 'local')).toMatchObject({ password: 'file-password-123' });
  });

  it.runIf(process.getuid?.() === 0)(
    'refuses a 0640 file whose group is another group (CLI users could read it)',
    async () => {
      const secret = await dir.write('mqtt-password', 'file-password-123\n');
      await chmod(secret, 0o640);
      await chown(secret, 0, 65534);
      const file = await dir.write('fieldgate.yaml', `${ROUTE}      passwordFile: mqtt-password\n`);
      const lines = await refusal(file);
      expect(lines[0]).toContain(`secret file ${secret} has mode 0640, open to its group`);
    },
  );

  it('reads private files: 0600 and 0400 (as systemd credentials are)', async () => {
    await dir.write('secrets.yaml', 'broker-password: yaml-password-123\n');
    const credential = await dir.write('mqtt-password', 'file-password-123\n');
    await chmod(credential, 0o400);
    const file = await dir.write(
      'fieldgate.yaml',
      `${ROUTE}      passwordFile: mqtt-password\n      username: !secret broker-password\n`,
    );
    const { config } = await loadConfig(file, { env: {} });
    expect(mqttUpstreamOf(config, 'local')).toMatchObject({
      password: 'file-password-123',
      username: 'yaml-password-123',
    });
  });
});

describe('FIELDGATE__ overrides of text keys', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  it('takes a numeric password as the text it is', async () => {
    const file = await dir.write('fieldgate.yaml', ROUTE);
    const { config } = await loadConfig(file, {
      env: {
        FIELDGATE__ROUTES__LOCAL__UPSTREAM__PASSWORD: '0012345',
        FIELDGATE__ROUTES__LOCAL__UPSTREAM__USERNAME: 'true',
      },
    });
    expect(mqttUpstreamOf(config, 'local')).toMatchObject({ password: '0012345', username: 'true' });
  });

  it('still types a number key from its variable', async () => {
    const file = await dir.write('fieldgate.yaml', ROUTE);
    const { config } = await loadConfig(file, {
      env: { FIELDGATE__ROUTES__LOCAL__UPSTREAM__KEEPALIVES: '30' },
    });
    expect(mqttUpstreamOf(config, 'local').keepaliveS).toBe(30);
  });

  it('names the variable and never its value when it is refused', async () => {
    const file = await dir.write('fieldgate.yaml', ROUTE);
    try {
      await loadConfig(file, {
        env: { FIELDGATE__ROUTES__LOCAL__UPSTREAM__KEEPALIVES: 'hunter2-not-a-number' },
      });
      expect.unreachable();
    } catch (error) {
      if (!isFieldgateError(error)) throw error;
      const lines = (error.context?.['errors'] as ConfigIssue[]).map(formatIssue);
      expect(lines).toEqual([
        'FIELDGATE__ROUTES__LOCAL__UPSTREAM__KEEPALIVES: routes.local.upstream.keepaliveS: expected number, got a string (value not shown)',
      ]);
      expect(error.message).not.toContain('hunter2');
    }
  });
});
