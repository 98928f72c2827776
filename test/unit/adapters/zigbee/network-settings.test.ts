import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveNetworkSettings } from '../../../../adapters/zigbee/network-settings.js';
import { silentLogger } from '../../../../src/logger.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'fg-zigbee-net-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('resolveNetworkSettings', () => {
  it('generates missing values once, stores them privately, and returns the same network on restart', async () => {
    const first = await resolveNetworkSettings({ channel: 15 }, stateDir, silentLogger());
    const second = await resolveNetworkSettings({ channel: 15 }, stateDir, silentLogger());

    expect(first.networkKey).toHaveLength(16);
    expect(first.extendedPanId).toHaveLength(8);
    expect(second).toEqual(first);
    const file = path.join(stateDir, 'network.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('uses the configured key and ids and stores nothing it did not generate', async () => {
    const settings = await resolveNetworkSettings(
      {
        channel: 20,
        panId: 0x1a62,
        extendedPanId: 'dddddddddddddddd',
        networkKey: '01030507090b0d0f00020406080a0c0d',
      },
      stateDir,
      silentLogger(),
    );
    expect(settings).toEqual({
      channel: 20,
      panId: 0x1a62,
      extendedPanId: [0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd],
      networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13],
    });
    await expect(readFile(path.join(stateDir, 'network.json'))).rejects.toThrow(/ENOENT/);
  });
});
