import type { AdapterFactory } from '../adapter.js';
import type { ZigbeeOptions } from './options.js';
import { ZigbeeAdapter } from './zigbee-adapter.js';

export { ZigbeeAdapter, type ZigbeeAdapterDeps } from './zigbee-adapter.js';
export type { ZigbeeOptions } from './options.js';

/** The registry's entry point: options are already validated by `zigbeeAdapterSchema`. */
const createZigbeeAdapter: AdapterFactory = (options) =>
  new ZigbeeAdapter(options as unknown as ZigbeeOptions);
export default createZigbeeAdapter;
