import { defineAdapter } from '../adapter.js';
import { zwaveOptionsSchema } from './options.js';
import { ZwaveAdapter } from './zwave-adapter.js';

/** The `zwave` adapter type; zwave-js itself is loaded only when the adapter starts. */
export default defineAdapter({
  type: 'zwave',
  optionsSchema: zwaveOptionsSchema,
  create: (options) => new ZwaveAdapter(options),
});
