import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { makeConfigDir, type ConfigDir } from '../config/config-dir.js';

const messages = (web: unknown) => {
  const result = configSchema.safeParse({ web });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('config web:', () => {
  it('is off by default and listens on loopback', () => {
    expect(configSchema.parse({}).web).toEqual({
      enabled: false,
      listen: '127.0.0.1:9465',
      tokens: [],
      maxClients: 16,
    });
  });

  it('refuses a LAN bind without tokens, and allows it with one', () => {
    expect(messages({ enabled: true, listen: '0.0.0.0:9465' })).toEqual([
      expect.stringMatching(/^web\.tokens: web\.listen is reachable from the network/),
    ]);
    expect(messages({ enabled: true, listen: '[::1]:9465' })).toEqual([]);
    expect(
      messages({
        enabled: true,
        listen: '192.168.1.5:9465',
        tokens: [{ name: 'ops', token: 'x'.repeat(16) }],
      }),
    ).toEqual([]);
  });

  it('refuses a short or missing token', () => {
    expect(messages({ tokens: [{ name: 'ops', token: 'short' }] })).toEqual([
      expect.stringMatching(/^web\.tokens\.0\.token: /),
    ]);
    expect(messages({ tokens: [{ name: 'ops' }] })).toEqual(['web.tokens.0.token: set token (or tokenFile)']);
  });
});

describe('a web token from the credential store', () => {
  let dir: ConfigDir;
  beforeEach(async () => {
    dir = await makeConfigDir();
  });
  afterEach(() => dir.remove());

  it('is read from tokenFile (a systemd credential) and redacted from every output', async () => {
    await mkdir(path.join(dir.dir, 'credentials'));
    await dir.write('credentials/web-token', 'from-the-credential-store-42\n');
    const file = await dir.write(
      'fieldgate.yaml',
      [
        'web:',
        '  enabled: true',
        '  listen: 0.0.0.0:9465',
        '  tokens:',
        '    - name: ops',
        '      tokenFile: ${CREDENTIALS_DIRECTORY}/web-token',
        '      actions: true',
        '',
      ].join('\n'),
    );
    const { config, redactor } = await loadConfig(file, {
      env: { CREDENTIALS_DIRECTORY: path.join(dir.dir, 'credentials') },
    });
    expect(config.web.tokens[0]).toMatchObject({
      name: 'ops',
      token: 'from-the-credential-store-42',
      actions: true,
    });
    expect(redactor.scrub('login with from-the-credential-store-42')).not.toContain(
      'from-the-credential-store-42',
    );
  });
});
