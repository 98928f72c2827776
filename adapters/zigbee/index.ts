import { defineAdapter } from '../adapter.js';
import { zigbeeOptionsSchema } from './options.js';
import { ZigbeeAdapter } from './zigbee-adapter.js';

export { ZigbeeAdapter, type ZigbeeAdapterDeps } from './zigbee-adapter.js';
export type { ZigbeeOptions } from './options.js';

/** The `zigbee` adapter type; zigbee-herdsman and its converters are imported only when it starts. */
export default defineAdapter({
  type: 'zigbee',
  optionsSchema: zigbeeOptionsSchema,
  create: (options) => new ZigbeeAdapter(options),
});
