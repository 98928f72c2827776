import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KEYS_FILE, resolveNetworkKeys } from '../../../../adapters/zwave/keys.js';

const silent = pino({ level: 'silent' });
const none = { securityKeys: {}, securityKeysLongRange: {} };

async function stateDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'fieldgate-zwave-keys-'));
}

describe('resolveNetworkKeys', () => {
  it('refuses a damaged key file and leaves it as it was, rather than generate keys over it', async () => {
    const dir = await stateDir();
    const file = path.join(dir, KEYS_FILE);
    await fs.writeFile(file, '{"securityKeys": {"s2AccessControl": "not hex"}}', { mode: 0o600 });
    await expect(resolveNetworkKeys(dir, none, silent)).rejects.toThrow(/32 hex digits/);
    await fs.writeFile(file, '{ cut sho', { mode: 0o600 });
    await expect(resolveNetworkKeys(dir, none, silent)).rejects.toThrow(/not JSON/);
    expect(await fs.readFile(file, 'utf8')).toBe('{ cut sho');
  });

  it('makes a key file left readable by others private again', async () => {
    const dir = await stateDir();
    const first = await resolveNetworkKeys(dir, none, silent);
    await fs.chmod(path.join(dir, KEYS_FILE), 0o644);
    const second = await resolveNetworkKeys(dir, none, silent);
    expect(second).toEqual(first);
    expect((await fs.stat(path.join(dir, KEYS_FILE))).mode & 0o777).toBe(0o600);
  });

  it('fills in only what is not configured; a configured key is used as given', async () => {
    const dir = await stateDir();
    const s0Legacy = '0123456789abcdef0123456789abcdef';
    const keys = await resolveNetworkKeys(
      dir,
      { securityKeys: { s0Legacy }, securityKeysLongRange: {} },
      silent,
    );
    expect(keys.securityKeys.s0Legacy).toBe(s0Legacy);
    const stored = JSON.parse(await fs.readFile(path.join(dir, KEYS_FILE), 'utf8')) as {
      securityKeys: Record<string, string>;
    };
    expect(stored.securityKeys.s0Legacy).toBeUndefined();
    expect(keys.securityKeys.s2AccessControl).toBe(stored.securityKeys.s2AccessControl);
  });
});
