import type { AdapterFactory } from './adapter.js';

/**
 * Adapter types by name, each loaded with a lazy `import()` so a radio stack (noble's native socket,
 * zigbee-herdsman, zwave-js) is loaded only when the config enables it.
 */
const loaders: Record<string, () => Promise<{ default: AdapterFactory }>> = {
  sim: () => import('./sim/index.js'),
  ble: () => import('./ble/index.js'),
  zigbee: () => import('./zigbee/index.js'),
  zwave: () => import('./zwave/index.js'),
};

export function knownAdapterTypes(): string[] {
  return Object.keys(loaders);
}

/** Resolves the factory for an adapter type; undefined when no such type exists. */
export async function loadAdapterFactory(type: string): Promise<AdapterFactory | undefined> {
  const load = loaders[type];
  return load === undefined ? undefined : (await load()).default;
}
