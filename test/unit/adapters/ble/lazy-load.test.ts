import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

describe('adapters/ble', () => {
  it('does not load noble (and its native HCI socket) until the adapter starts', async () => {
    const { default: bleDefinition } = await import('../../../../adapters/ble/index.js');
    bleDefinition.create({});
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((path) => path.includes('@abandonware'))).toEqual([]);
  });
});
