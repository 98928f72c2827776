import { defineAdapter } from '../adapter.js';
import { BleAdapter } from './ble-adapter.js';
import { bleOptionsSchema } from './options.js';

export { BleAdapter, type BleAdapterDeps } from './ble-adapter.js';
export type { BleOptions } from './options.js';
export type { BleStats } from './stats.js';

/** The `ble` adapter type; noble itself is imported only when the adapter starts. */
export default defineAdapter({
  type: 'ble',
  optionsSchema: bleOptionsSchema,
  create: (options) => new BleAdapter(options),
});
