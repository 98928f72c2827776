import { defineAdapter } from '../adapter.js';
import { simOptionsSchema } from './options.js';
import { SimAdapter } from './sim-adapter.js';

/** The `sim` adapter type: a simulated fleet configured by the `sim` entry of `adapters`. */
export default defineAdapter({
  type: 'sim',
  optionsSchema: simOptionsSchema,
  create: (options) => new SimAdapter(options),
});
