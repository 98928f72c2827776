import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

describe('adapters/ble', () => {
  it('does not load noble (and its native HCI socket) until the adapter starts', async () => {
    const { default: createBleAdapter } = await import('../../../../adapters/ble/index.js');
    createBleAdapter({});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((path) => path.includes('@abandonware'))).toEqual([]);
  });
});
