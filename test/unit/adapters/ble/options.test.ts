import { describe, expect, it } from 'vitest';
import { bleOptionsSchema } from '../../../../adapters/ble/options.js';

describe('bleOptionsSchema', () => {
  it('fills defaults for a bare adapter', () => {
    expect(bleOptionsSchema.parse({})).toMatchObject({
      hciDevice: 0,
      devices: [],
      allow: { macs: [], names: [] },
      discovery: true,
      maxConnections: 2,
      reopen: { initialMs: 1000, maxMs: 60_000 },
    });
  });

  it('normalises MACs and UUIDs, and defaults GATT entries', () => {
    const parsed = bleOptionsSchema.parse({
      devices: [
        {
          address: 'C0:FF:EE:00:00:01',
          gatt: {
            readings: [{ name: 'temperature', service: '181A', characteristic: '2A6E', format: 'int16le' }],
            commands: [{ name: 'blink', service: 'FFE0', characteristic: 'FFE1', payload: [{ hex: '02' }] }],
          },
        },
      ],
    });
    expect(parsed.devices[0]).toMatchObject({
      address: 'c0:ff:ee:00:00:01',
      gatt: {
        readings: [
          { service: '181a', characteristic: '2a6e', mode: 'poll', intervalMs: 60_000, scale: 1, offset: 0 },
        ],
        commands: [{ service: 'ffe0', characteristic: 'ffe1', withResponse: true }],
      },
    });
  });

  it.each([
    [{ devices: [{ address: 'not-a-mac' }] }, 'devices.0.address'],
    [{ devices: [{ address: 'c0:ff:ee:00:00:01', bindkey: 'abc' }] }, 'devices.0.bindkey'],
    [{ maxConnections: 0 }, 'maxConnections'],
    [{ scanIntervalMs: 5 }, ''],
  ])('rejects %j at %s', (options, path) => {
    const result = bleOptionsSchema.safeParse(options);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});
