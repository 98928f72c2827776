import { describe, expect, expectTypeOf, it } from 'vitest';
import type { BleOptions } from '../../../../adapters/ble/options.js';
import { bleAdapterSchema, type BleAdapterConfig } from '../../../../src/config/adapters/ble.js';

describe('bleAdapterSchema', () => {
  it('produces exactly the options the adapter declares', () => {
    expectTypeOf<Omit<BleAdapterConfig, 'type' | 'enabled'>>().toEqualTypeOf<BleOptions>();
  });

  it('fills defaults for a bare adapter', () => {
    expect(bleAdapterSchema.parse({ type: 'ble' })).toMatchObject({
      enabled: true,
      hciDevice: 0,
      devices: [],
      allow: { macs: [], names: [] },
      discovery: true,
      maxConnections: 2,
      reopen: { initialMs: 1000, maxMs: 60_000 },
    });
  });

  it('normalises MACs and UUIDs, and defaults GATT entries', () => {
    const parsed = bleAdapterSchema.parse({
      type: 'ble',
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
    const result = bleAdapterSchema.safeParse({ type: 'ble', ...options });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });
});
