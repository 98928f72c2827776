import type { AdapterDefinition } from './adapter.js';
import { bleOptionsSchema } from './ble/options.js';
import { simOptionsSchema } from './sim/options.js';
import {
  extraZigbeeAdapters,
  ONE_ZIGBEE_ADAPTER,
  zigbeeOptionsSchema,
  zigbeeRenamedKeys,
} from './zigbee/options.js';
import { zwaveOptionsSchema } from './zwave/options.js';

/**
 * Each adapter type's options schema, loaded eagerly: the config is validated before any adapter starts,
 * and these files import nothing but zod. `src/config/schema.ts` composes them into the config.
 */
export const adapterOptionsSchemas = {
  sim: simOptionsSchema,
  ble: bleOptionsSchema,
  zigbee: zigbeeOptionsSchema,
  zwave: zwaveOptionsSchema,
} as const;

export type AdapterType = keyof typeof adapterOptionsSchemas;

/**
 * Problems of the `adapters` section as a whole (each entry alone is valid): the adapter's name and why
 * it cannot run beside the others. Today one: a second enabled Zigbee adapter.
 */
export function adapterSetIssues(
  adapters: Readonly<Record<string, { type: string; enabled?: boolean }>>,
): { name: string; message: string }[] {
  return extraZigbeeAdapters(adapters).map((name) => ({ name, message: ONE_ZIGBEE_ADAPTER }));
}

/**
 * Option keys an adapter type renamed, old name → new name: still accepted in config, with a warning
 * (`src/config/renamed-keys.ts`).
 */
export const adapterRenamedKeys: Partial<Record<AdapterType, Readonly<Record<string, string>>>> = {
  zigbee: zigbeeRenamedKeys,
};

/**
 * Adapter types by name, each loaded with a lazy `import()` so a radio stack (noble's native socket,
 * zigbee-herdsman, zwave-js) is loaded only when the config enables it.
 */
const loaders: Record<AdapterType, () => Promise<{ default: AdapterDefinition }>> = {
  sim: () => import('./sim/index.js'),
  ble: () => import('./ble/index.js'),
  zigbee: () => import('./zigbee/index.js'),
  zwave: () => import('./zwave/index.js'),
};

export function knownAdapterTypes(): AdapterType[] {
  return Object.keys(loaders).filter(isAdapterType);
}

export function isAdapterType(type: string): type is AdapterType {
  return Object.hasOwn(loaders, type);
}

/** Resolves the definition of an adapter type; undefined when no such type exists. */
export async function loadAdapterDefinition(type: string): Promise<AdapterDefinition | undefined> {
  return isAdapterType(type) ? (await loaders[type]()).default : undefined;
}
