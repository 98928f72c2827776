import { BleAdapter } from '../../../adapters/ble/index.js';
import { bleOptionsSchema } from '../../../adapters/ble/options.js';

/** A BLE adapter built from config as the runtime would build it: `overrides` parsed by the options schema. */
export function bleAdapterFromConfig(overrides: Record<string, unknown>): BleAdapter {
  return new BleAdapter(bleOptionsSchema.parse(overrides), { startTimeoutMs: 20_000 });
}
