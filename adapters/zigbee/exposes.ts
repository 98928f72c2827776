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
  /**
   * A member of a composite (`color` → `x`): the write sends `{[field]: value}` under `key`, merged with the
   * composite's other members given in the same command.
   */
  field?: string;
  /** `hexColor`: a `#rrggbb` string sent as `{hex}` under `key` (the converters turn it into xy or hs). */
  format?: 'hexColor';
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

/** The converters' key of a light's colour composites (`color_xy`, `color_hs`). */
const COLOR_KEY = 'color';

/**
 * Walks the exposes tree (lights, switches, covers and climates nest their features) into leaves. A
 * composite's members become leaves of their own, named after the composite (`color` + `x` → `colorX`,
 * `color` + `hue` → `colorHue`), as the readings name them; a settable colour also takes `color` as hex.
 */
export function flattenExposes(exposes: readonly ExposeLike[]): ExposedProperty[] {
  const leaves: ExposedProperty[] = [];
  const visit = (e: ExposeLike, composite?: ExposeLike): void => {
    if (e.features !== undefined) {
      const isComposite = e.type === 'composite' && e.property !== undefined;
      for (const feature of e.features) visit(feature, isComposite ? e : composite);
      return;
    }
    if (!LEAF_KINDS.has(e.type) || e.property === undefined || e.name === undefined) return;
    const access = e.access ?? 0;
    const endpoint = e.endpoint ?? composite?.endpoint;
    leaves.push({
      name: toValueName(composite === undefined ? e.property : `${composite.property}_${e.property}`),
      key: composite === undefined ? e.name : composite.property!,
      ...(composite === undefined ? {} : { field: e.property }),
      ...(endpoint === undefined ? {} : { endpointName: endpoint }),
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
  for (const e of exposes) visit(e);
  const color = leaves.find((p) => p.key === COLOR_KEY && p.field !== undefined && p.isSettable);
  if (color !== undefined && !leaves.some((p) => p.name === COLOR_KEY)) {
    leaves.push({
      name: COLOR_KEY,
      key: COLOR_KEY,
      format: 'hexColor',
      ...(color.endpointName === undefined ? {} : { endpointName: color.endpointName }),
      kind: 'text',
      isReported: false,
      isSettable: true,
    });
  }
  return leaves;
}

/** `set`'s `transition` argument (seconds), offered where a light dims or changes colour. */
export const TRANSITION_ARG = 'transition';
/** ZCL transition times are 16-bit tenths of a second. */
const MAX_TRANSITION_S = 6553.5;
const TRANSITIONED_KEYS = new Set(['brightness', 'color_temp', COLOR_KEY]);

function takesTransition(properties: readonly ExposedProperty[]): boolean {
  return properties.some((p) => p.isSettable && TRANSITIONED_KEYS.has(p.key));
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
    const args: NonNullable<CommandCapability['args']> = Object.fromEntries(
      settable.map((p) => [p.name, argSpecOf(p)]),
    );
    if (takesTransition(properties)) args[TRANSITION_ARG] = { type: 'number', min: 0, max: MAX_TRANSITION_S };
    commands.push({ name: SET_COMMAND, args });
  }
  const values = [...new Set([...properties.filter((p) => p.isReported).map((p) => p.name), 'linkQuality'])];
  return { values, commands };
}

type Scalar = string | number | boolean;

/** One key of a `toZigbee` message: converter key, endpoint name and the value in the converters' terms. */
export interface ZigbeeWrite {
  key: string;
  endpointName?: string;
  /** A scalar, or a composite's members (`{x, y}`, `{hex}`). */
  value: Scalar | Readonly<Record<string, Scalar>>;
}

/**
 * A planned command: the keys of one converter message (sent together, so a converter that takes several
 * — state and brightness — sends them in one frame) and the transition in seconds, when one was asked for.
 */
export type CommandPlan =
  | { ok: true; writes: ZigbeeWrite[]; transition?: number }
  | { ok: false; status: 'unsupported' | 'rejected'; detail: string };

type Coerced = { value: Scalar } | { problem: string };

const HEX_COLOR = /^#?[0-9a-f]{6}$/i;

function coerceArg(p: ExposedProperty, raw: unknown): Coerced {
  if (p.format === 'hexColor') {
    return typeof raw === 'string' && HEX_COLOR.test(raw)
      ? { value: raw.startsWith('#') ? raw : `#${raw}` }
      : { problem: `${p.name} must be a colour as #rrggbb` };
  }
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
  let transition: number | undefined;
  const writes: ZigbeeWrite[] = [];
  for (const [name, raw] of entries) {
    if (name === TRANSITION_ARG && takesTransition(properties)) {
      if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > MAX_TRANSITION_S)
        return {
          ok: false,
          status: 'rejected',
          detail: `transition must be seconds between 0 and ${MAX_TRANSITION_S}`,
        };
      transition = raw;
      continue;
    }
    const p = properties.find((q) => q.isSettable && q.name === name);
    if (p === undefined) return { ok: false, status: 'unsupported', detail: `the device cannot set ${name}` };
    const coerced = coerceArg(p, raw);
    if ('problem' in coerced) return { ok: false, status: 'rejected', detail: coerced.problem };
    const member = p.format === 'hexColor' ? 'hex' : p.field;
    const same = writes.find((w) => w.key === p.key && w.endpointName === p.endpointName);
    if (member !== undefined && same !== undefined && typeof same.value === 'object') {
      same.value = { ...same.value, [member]: coerced.value };
      continue;
    }
    writes.push({
      key: p.key,
      ...(p.endpointName === undefined ? {} : { endpointName: p.endpointName }),
      value: member === undefined ? coerced.value : { [member]: coerced.value },
    });
  }
  if (writes.length === 0) return { ok: false, status: 'rejected', detail: 'set needs a value to set' };
  return { ok: true, writes, ...(transition === undefined ? {} : { transition }) };
}
