import { BleAdapter } from '../../../adapters/ble/index.js';
import type { BleOptions } from '../../../adapters/ble/options.js';
import { bleAdapterSchema } from '../../../src/config/adapters/ble.js';

/** A BLE adapter built from config as the runtime would build it: `overrides` merged onto `type: ble`. */
export function bleAdapterFromConfig(overrides: Record<string, unknown>): BleAdapter {
  const {
    type: _type,
    enabled: _enabled,
    ...options
  } = bleAdapterSchema.parse({ type: 'ble', ...overrides });
  return new BleAdapter(options satisfies BleOptions, { startTimeoutMs: 20_000 });
}
