import type { AdapterFactory } from '../adapter.js';
import { readSimOptions } from './options.js';
import { SimAdapter } from './sim-adapter.js';

/** The `sim` adapter type: a simulated fleet configured by the `sim` entry of `adapters` (see schema). */
const createSimAdapter: AdapterFactory = (options) => new SimAdapter(readSimOptions(options));

export default createSimAdapter;
