import type { CommandCapability, DeviceCapabilities } from '../../src/model.js';
import { toValueName } from './value-names.js';

/**
 * Pure mapping between a converter definition's `exposes` and the gateway's command vocabulary: what a
 * device reports, which commands it takes (with argument descriptions for the command router), and how
 * a command becomes `toZigbee` calls. No library code runs here, so every case is a table-driven test.
 */

/** The structural part of a zigbee-herdsman-converters expose that this module reads. */
export interface ExposeLike {
  type: string;
  name?: string;
  property?: string;
  access?: number;
  endpoint?: string;
  unit?: string;
  value_min?: number;
  value_max?: number;
  values?: readonly (string | number)[];
  value_on?: string | boolean;
  value_off?: string | boolean;
  value_toggle?: string;
  features?: readonly ExposeLike[];
}

/** zhc's access bits: the value is published (STATE), can be set (SET), can be read on demand (GET). */
const ACCESS_STATE = 0b001;
const ACCESS_SET = 0b010;

/** One leaf of the exposes tree that has a property of its own. */
export interface ExposedProperty {
  /** The gateway's value / argument name (lowerCamel, e.g. `colorTemp`, `stateL1`). */
  name: string;
  /** The converters' key, as `toZigbee` converters expect it (`color_temp`, `state`). */
  key: string;
  /** The converters' endpoint name (`l1`), for multi-endpoint devices. */
  endpointName?: string;
  kind: 'numeric' | 'binary' | 'enum' | 'text';
  isReported: boolean;
  isSettable: boolean;
  unit?: string;
  min?: number;
  max?: number;
  values?: readonly (string | number)[];
  valueOn?: string | boolean;
  valueOff?: string | boolean;
  valueToggle?: string;
}

const LEAF_KINDS = new Set(['numeric', 'binary', 'enum', 'text']);

/** Walks the exposes tree (lights, switches, covers and climates nest their features) into leaves. */
export function flattenExposes(exposes: readonly ExposeLike[]): ExposedProperty[] {
  const leaves: ExposedProperty[] = [];
  const visit = (e: ExposeLike): void => {
    if (e.features !== undefined && e.type !== 'composite') {
      e.features.forEach(visit);
      return;
    }
    if (!LEAF_KINDS.has(e.type) || e.property === undefined || e.name === undefined) return;
    const access = e.access ?? 0;
    leaves.push({
      name: toValueName(e.property),
      key: e.name,
      ...(e.endpoint === undefined ? {} : { endpointName: e.endpoint }),
      kind: e.type as ExposedProperty['kind'],
      isReported: (access & ACCESS_STATE) !== 0,
      isSettable: (access & ACCESS_SET) !== 0,
      ...(e.unit === undefined ? {} : { unit: e.unit }),
      ...(e.value_min === undefined ? {} : { min: e.value_min }),
      ...(e.value_max === undefined ? {} : { max: e.value_max }),
      ...(e.values === undefined ? {} : { values: e.values }),
      ...(e.value_on === undefined ? {} : { valueOn: e.value_on }),
      ...(e.value_off === undefined ? {} : { valueOff: e.value_off }),
      ...(e.value_toggle === undefined ? {} : { valueToggle: e.value_toggle }),
    });
  };
  exposes.forEach(visit);
  return leaves;
}

/** A command that needs no arguments: `on`, `off`, `toggle`, `lock`, `open`, … for the main `state`. */
interface Shortcut {
  command: string;
  key: string;
  value: string;
}

const SHORTCUT_WORD = /^[A-Za-z]+$/;

function shortcutsOf(properties: readonly ExposedProperty[]): Shortcut[] {
  const state = properties.find((p) => p.name === 'state' && p.isSettable && p.endpointName === undefined);
  if (state === undefined) return [];
  const candidates =
    state.kind === 'binary' ? [state.valueOn, state.valueOff, state.valueToggle] : (state.values ?? []);
  return candidates
    .filter((v): v is string => typeof v === 'string' && SHORTCUT_WORD.test(v))
    .map((value) => ({ command: value.toLowerCase(), key: state.key, value }));
}

type ArgSpec = NonNullable<CommandCapability['args']>[string];

function argSpecOf(p: ExposedProperty): ArgSpec {
  switch (p.kind) {
    case 'numeric':
      return {
        type: 'number',
        ...(p.min === undefined ? {} : { min: p.min }),
        ...(p.max === undefined ? {} : { max: p.max }),
      };
    case 'binary':
      return typeof p.valueOn === 'boolean'
        ? { type: 'boolean' }
        : {
            type: 'string',
            enum: [p.valueOn, p.valueOff, p.valueToggle].filter((v) => v !== undefined).map(String),
          };
    case 'enum':
      return { type: 'string', enum: (p.values ?? []).map(String) };
    case 'text':
      return { type: 'string' };
  }
}

/** The `set` command takes any subset of the settable properties, by their gateway names. */
export const SET_COMMAND = 'set';

/** What the device reports and which commands it takes, from its exposed properties. */
export function capabilitiesOf(properties: readonly ExposedProperty[]): DeviceCapabilities {
  const settable = properties.filter((p) => p.isSettable);
  const commands: CommandCapability[] = shortcutsOf(properties).map((s) => ({ name: s.command }));
  if (settable.length > 0) {
    commands.push({
      name: SET_COMMAND,
      args: Object.fromEntries(settable.map((p) => [p.name, argSpecOf(p)])),
    });
  }
  const values = [...new Set([...properties.filter((p) => p.isReported).map((p) => p.name), 'linkQuality'])];
  return { values, commands };
}

/** One `toZigbee` call: converter key, endpoint name and the value in the converters' terms. */
export interface ZigbeeWrite {
  key: string;
  endpointName?: string;
  value: string | number | boolean;
}

export type CommandPlan =
  { ok: true; writes: ZigbeeWrite[] } | { ok: false; status: 'unsupported' | 'rejected'; detail: string };

type Coerced = { value: string | number | boolean } | { problem: string };

function coerceArg(p: ExposedProperty, raw: unknown): Coerced {
  switch (p.kind) {
    case 'numeric': {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return { problem: `${p.name} must be a number` };
      if ((p.min !== undefined && raw < p.min) || (p.max !== undefined && raw > p.max)) {
        return { problem: `${p.name} must be between ${p.min ?? '-∞'} and ${p.max ?? '∞'}` };
      }
      return { value: raw };
    }
    case 'binary': {
      // A boolean is accepted for ON/OFF-style binaries too: `{state: true}` reads naturally from a cloud.
      if (typeof raw === 'boolean') return { value: (raw ? p.valueOn : p.valueOff) ?? raw };
      const allowed = [p.valueOn, p.valueOff, p.valueToggle].filter((v) => v !== undefined);
      const match = allowed.find(
        (v) => typeof raw === 'string' && String(v).toUpperCase() === raw.toUpperCase(),
      );
      return match === undefined
        ? { problem: `${p.name} must be one of ${allowed.join(', ')}` }
        : { value: match };
    }
    case 'enum': {
      const match = (p.values ?? []).find((v) => String(v).toLowerCase() === String(raw).toLowerCase());
      return match === undefined
        ? { problem: `${p.name} must be one of ${(p.values ?? []).join(', ')}` }
        : { value: match };
    }
    case 'text':
      return typeof raw === 'string' ? { value: raw } : { problem: `${p.name} must be a string` };
  }
}

/**
 * Validates a command against the device's exposed properties and plans its `toZigbee` writes. An unknown
 * command or argument name is `unsupported`; a known one with a bad value is `rejected`.
 */
export function planCommand(
  command: { name: string; args: Record<string, unknown> },
  properties: readonly ExposedProperty[],
): CommandPlan {
  const shortcut = shortcutsOf(properties).find((s) => s.command === command.name);
  if (shortcut !== undefined) return { ok: true, writes: [{ key: shortcut.key, value: shortcut.value }] };
  if (command.name !== SET_COMMAND) {
    return { ok: false, status: 'unsupported', detail: `the device has no command ${command.name}` };
  }
  const entries = Object.entries(command.args);
  if (entries.length === 0)
    return { ok: false, status: 'rejected', detail: 'set needs at least one argument' };
  const writes: ZigbeeWrite[] = [];
  for (const [name, raw] of entries) {
    const p = properties.find((q) => q.isSettable && q.name === name);
    if (p === undefined) return { ok: false, status: 'unsupported', detail: `the device cannot set ${name}` };
    const coerced = coerceArg(p, raw);
    if ('problem' in coerced) return { ok: false, status: 'rejected', detail: coerced.problem };
    writes.push({
      key: p.key,
      ...(p.endpointName === undefined ? {} : { endpointName: p.endpointName }),
      value: coerced.value,
    });
  }
  return { ok: true, writes };
}
