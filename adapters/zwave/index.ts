import type { AdapterFactory } from '../adapter.js';
import type { ZwaveOptions } from './options.js';
import { ZwaveAdapter } from './zwave-adapter.js';

/**
 * The `zwave` adapter type. `options` are the already validated `adapters.<name>` options
 * (`src/config/adapters/zwave.ts`); zwave-js itself is loaded only when the adapter starts.
 */
const createZwaveAdapter: AdapterFactory = (options) => new ZwaveAdapter(options as unknown as ZwaveOptions);

export default createZwaveAdapter;
