import type { AdapterFactory } from '../adapter.js';
import { BleAdapter } from './ble-adapter.js';
import type { BleOptions } from './options.js';

export { BleAdapter, type BleAdapterDeps } from './ble-adapter.js';
export type { BleOptions } from './options.js';
export type { BleStats } from './stats.js';

/**
 * The `ble` adapter type. `options` are the zod-parsed `adapters.<name>` options (`bleAdapterSchema`);
 * noble itself is imported only when the adapter starts.
 */
const createBleAdapter: AdapterFactory = (options) => new BleAdapter(options as unknown as BleOptions);
export default createBleAdapter;
