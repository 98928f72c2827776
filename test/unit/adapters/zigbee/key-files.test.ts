import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { resolveNetworkSettings } from '../../../../adapters/zigbee/network-settings.js';
import { keepKeyFilesPrivate } from '../../../../adapters/zigbee/private-files.js';
import { silentLogger } from '../../../../src/logger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-zigbee-keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

it('stores a generated network key 0600, also over a file an older version left 0644', async () => {
  const file = path.join(dir, 'network.json');
  await writeFile(file, JSON.stringify({ panId: 4660 }), { mode: 0o644 });
  const options = { channel: 11 };
  await resolveNetworkSettings(options, dir, silentLogger());
  expect(JSON.parse(await readFile(file, 'utf8'))).toHaveProperty('networkKey');
  expect(await modeOf(file)).toBe(0o600);
});

it('makes the coordinator backup 0600 and the adapter state dir 0700, reporting what it changed', async () => {
  const state = path.join(dir, 'adapters', 'zigbee');
  await mkdir(state, { recursive: true, mode: 0o755 });
  // As zigbee-herdsman writes it: the process umask, here 0644.
  const backup = path.join(state, 'coordinator-backup.json');
  await writeFile(backup, '{"network_key":{"key":"01030507090b0d0f00020406080a0c0d"}}', { mode: 0o644 });
  expect(await keepKeyFilesPrivate(state)).toEqual([state, backup]);
  expect(await modeOf(backup)).toBe(0o600);
  expect(await modeOf(state)).toBe(0o700);
  // Already private: nothing to change, nothing reported.
  expect(await keepKeyFilesPrivate(state)).toEqual([]);
});
