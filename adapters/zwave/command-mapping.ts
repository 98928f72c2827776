import type { CommandCapability, CommandStatus } from '../../src/model.js';
import { CC, SETPOINT_TYPES, THERMOSTAT_MODES } from './value-mapping.js';

/** What one endpoint offers: its command classes and its switch state. */
export interface EndpointFacts {
  /** Command classes the endpoint supports. */
  commandClasses: ReadonlySet<number>;
  /** Binary Switch / Multilevel Switch current state, for `toggle`; undefined when unknown. */
  isOn?: boolean | undefined;
}

/** What the adapter knows about a node that decides which commands it takes (from zwave-js, read once). */
export interface NodeFacts extends EndpointFacts {
  /** Multi Channel endpoints (index ≥ 1) by index, e.g. the two relays of a double switch. */
  endpoints?: ReadonlyMap<number, EndpointFacts> | undefined;
  /** Thermostat setpoint type numbers the node reported. */
  setpointTypes: readonly number[];
  /** Thermostat mode numbers the node reported. */
  thermostatModes: readonly number[];
}

/** One zwave-js `setValue` call: the value id and the value to write. */
export interface ValueWrite {
  commandClass: number;
  endpoint: number;
  property: string | number;
  propertyKey?: string | number;
  value: unknown;
  /** Transition time in seconds (Binary / Multilevel / Color Switch `duration`); the device default without. */
  durationS?: number;
}

/** Why a command is answered without touching the radio. */
type Refusal = { ok: false; status: Extract<CommandStatus, 'unsupported' | 'rejected'>; detail: string };

export type CommandPlan = { ok: true; write: ValueWrite } | Refusal;

type Args = Record<string, unknown>;
type Planner = (facts: NodeFacts, args: Args) => CommandPlan;

interface CommandSpec {
  /** The command as `DeviceInfo` lists it; its arguments may depend on the node (endpoints). */
  capability: CommandCapability | ((facts: NodeFacts) => CommandCapability);
  /** Whether the node can take this command at all. */
  isSupported(facts: NodeFacts): boolean;
  plan: Planner;
}

const MULTILEVEL_ON = 0xff; // Multilevel Switch Set 0xff: "on at the last non-zero level".
/** Multilevel Switch levels run 0–99, 99 being full; the gateway's `level` runs 0–100 (see `toDeviceLevel`). */
const MULTILEVEL_MAX = 99;
/** The longest transition a Z-Wave Duration can carry: 127 minutes (Z-Wave Application CC spec, Duration). */
const MAX_DURATION_S = 127 * 60;

const hasSwitchCc = (ccs: ReadonlySet<number>): boolean =>
  ccs.has(CC.binarySwitch) || ccs.has(CC.multilevelSwitch);

/** Root or any endpoint offers a switch. */
const hasSwitch = (facts: NodeFacts): boolean =>
  hasSwitchCc(facts.commandClasses) ||
  [...(facts.endpoints?.values() ?? [])].some((e) => hasSwitchCc(e.commandClasses));
const hasDimmer = (facts: NodeFacts): boolean =>
  facts.commandClasses.has(CC.multilevelSwitch) ||
  [...(facts.endpoints?.values() ?? [])].some((e) => e.commandClasses.has(CC.multilevelSwitch));
const hasLock = (facts: NodeFacts): boolean =>
  facts.commandClasses.has(CC.doorLock) || facts.commandClasses.has(CC.lock);

/** Endpoints ≥ 1 whose command classes pass `accepts`, for the `endpoint` argument's range. */
function endpointsWith(facts: NodeFacts, accepts: (ccs: ReadonlySet<number>) => boolean): number[] {
  return [...(facts.endpoints ?? [])].filter(([, e]) => accepts(e.commandClasses)).map(([index]) => index);
}

/** `on`/`off`/`toggle`/`setLevel`: `endpoint` on multi-channel nodes, `duration` where a switch can fade. */
function switchCapability(name: string, args: NonNullable<CommandCapability['args']> = {}) {
  return (facts: NodeFacts): CommandCapability => {
    const all: NonNullable<CommandCapability['args']> = { ...args };
    const endpoints = endpointsWith(facts, hasSwitchCc);
    if (endpoints.length > 0) all.endpoint = { type: 'number', min: 0, max: Math.max(...endpoints) };
    all.duration = { type: 'number', min: 0, max: MAX_DURATION_S };
    return { name, args: all };
  };
}

/**
 * The endpoint a switch command addresses (`endpoint` argument, root when absent), or why it cannot: an
 * endpoint the node does not have, or one without the command class asked for.
 */
function targetOf(
  facts: NodeFacts,
  args: Args,
  accepts: (ccs: ReadonlySet<number>) => boolean,
): { ok: true; index: number; facts: EndpointFacts } | Refusal {
  const index = args.endpoint ?? defaultEndpoint(facts, accepts);
  if (!isInteger(index) || index < 0) return rejected('endpoint must be a non-negative integer');
  const target = index === 0 ? facts : facts.endpoints?.get(index);
  const usable = endpointsWith(facts, accepts);
  const choice = usable.length === 0 ? '' : `; its switch endpoints are ${usable.join(', ')}`;
  if (target === undefined) return rejected(`this device has no endpoint ${index}${choice}`);
  if (!accepts(target.commandClasses))
    return { ok: false, status: 'unsupported', detail: `endpoint ${index} has no such switch${choice}` };
  return { ok: true, index, facts: target };
}

/** Root when it has the switch itself; otherwise the first endpoint that has it (a relay whose root is bare). */
function defaultEndpoint(facts: NodeFacts, accepts: (ccs: ReadonlySet<number>) => boolean): number {
  if (accepts(facts.commandClasses)) return 0;
  return endpointsWith(facts, accepts)[0] ?? 0;
}

/** The `duration` argument in whole seconds, or why not. */
function durationOf(args: Args): { ok: true; durationS?: number } | Refusal {
  const d = args.duration;
  if (d === undefined) return { ok: true };
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_DURATION_S)
    return rejected(`duration must be a number of seconds from 0 to ${MAX_DURATION_S}`);
  return { ok: true, durationS: Math.round(d) };
}

function onOff(state: boolean | 'toggle'): Planner {
  return (facts, args) => {
    const target = targetOf(facts, args, hasSwitchCc);
    if (!target.ok) return target;
    const duration = durationOf(args);
    if (!duration.ok) return duration;
    const isOn = state === 'toggle' ? target.facts.isOn : undefined;
    if (state === 'toggle' && isOn === undefined)
      return rejected('the current switch state is not known yet');
    const on = state === 'toggle' ? isOn !== true : state;
    const plan = target.facts.commandClasses.has(CC.binarySwitch)
      ? write(CC.binarySwitch, 'targetValue', on)
      : write(CC.multilevelSwitch, 'targetValue', on ? MULTILEVEL_ON : 0);
    return withTarget(plan, target.index, duration.durationS);
  };
}

/**
 * The gateway's level (0–100, 100 = full, as users and the other radios count) as a Multilevel Switch
 * level: 0–99 with 99 the device's full level; 100 is sent as 99. 0xff would mean "the last non-zero level",
 * not full (Multilevel Switch CC, Set).
 */
export function toDeviceLevel(level: number): number {
  return Math.min(level, MULTILEVEL_MAX);
}

function lockState(locked: boolean): Planner {
  // Door Lock mode 0xff secures the bolt and 0x00 releases it; the older Lock CC takes a boolean.
  return (facts) =>
    facts.commandClasses.has(CC.doorLock)
      ? write(CC.doorLock, 'targetMode', locked ? 0xff : 0)
      : write(CC.lock, 'locked', locked);
}

/** Every command the adapter understands, with its argument description and how it becomes a write. */
const COMMANDS: Record<string, CommandSpec> = {
  on: { capability: switchCapability('on'), isSupported: hasSwitch, plan: onOff(true) },
  off: { capability: switchCapability('off'), isSupported: hasSwitch, plan: onOff(false) },
  toggle: { capability: switchCapability('toggle'), isSupported: hasSwitch, plan: onOff('toggle') },
  setLevel: {
    capability: (facts) => {
      const args: NonNullable<CommandCapability['args']> = { level: { type: 'number', min: 0, max: 100 } };
      const endpoints = endpointsWith(facts, (ccs) => ccs.has(CC.multilevelSwitch));
      if (endpoints.length > 0) args.endpoint = { type: 'number', min: 0, max: Math.max(...endpoints) };
      args.duration = { type: 'number', min: 0, max: MAX_DURATION_S };
      return { name: 'setLevel', args };
    },
    isSupported: hasDimmer,
    plan: (facts, args) => {
      const level = args.level;
      if (!isInteger(level) || level < 0 || level > 100) return rejected('level must be an integer 0–100');
      const target = targetOf(facts, args, (ccs) => ccs.has(CC.multilevelSwitch));
      if (!target.ok) return target;
      const duration = durationOf(args);
      if (!duration.ok) return duration;
      return withTarget(
        write(CC.multilevelSwitch, 'targetValue', toDeviceLevel(level)),
        target.index,
        duration.durationS,
      );
    },
  },
  setSetpoint: {
    capability: {
      name: 'setSetpoint',
      args: {
        setpoint: { type: 'number' },
        type: { type: 'string', enum: Object.values(SETPOINT_TYPES) },
      },
    },
    isSupported: (facts) => facts.commandClasses.has(CC.thermostatSetpoint),
    plan: (facts, args) => {
      const typeName = args.type ?? 'heating';
      const type = numberFor(SETPOINT_TYPES, typeName);
      if (type === undefined || !facts.setpointTypes.includes(type)) {
        return rejected(`setpoint type ${JSON.stringify(typeName)} is not supported by this device`);
      }
      if (typeof args.setpoint !== 'number' || !Number.isFinite(args.setpoint)) {
        return rejected('setpoint must be a number');
      }
      return write(CC.thermostatSetpoint, 'setpoint', args.setpoint, type);
    },
  },
  setMode: {
    capability: {
      name: 'setMode',
      args: { mode: { type: 'string', enum: Object.values(THERMOSTAT_MODES) } },
    },
    isSupported: (facts) => facts.commandClasses.has(CC.thermostatMode),
    plan: (facts, args) => {
      const mode = numberFor(THERMOSTAT_MODES, args.mode);
      if (mode === undefined || !facts.thermostatModes.includes(mode)) {
        return rejected(`mode ${JSON.stringify(args.mode)} is not supported by this device`);
      }
      return write(CC.thermostatMode, 'mode', mode);
    },
  },
  lock: { capability: { name: 'lock' }, isSupported: hasLock, plan: lockState(true) },
  unlock: { capability: { name: 'unlock' }, isSupported: hasLock, plan: lockState(false) },
  setValue: {
    capability: {
      name: 'setValue',
      args: {
        commandClass: { type: 'number', min: 0, max: 0xffff },
        property: { type: 'string' },
        propertyKey: { type: 'string' },
        value: { type: 'json' },
        endpoint: { type: 'number', min: 0, max: 127 },
        duration: { type: 'number', min: 0, max: MAX_DURATION_S },
      },
    },
    isSupported: () => true,
    plan: planGenericWrite,
  },
};

/**
 * Validates a command against the node before anything is sent: `unsupported` when the node lacks the
 * command class, `rejected` when the arguments are malformed; otherwise the value write to perform.
 */
export function planCommand(name: string, args: Args, facts: NodeFacts): CommandPlan {
  const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (spec === undefined) return { ok: false, status: 'unsupported', detail: `unknown command ${name}` };
  if (!spec.isSupported(facts)) {
    return { ok: false, status: 'unsupported', detail: `this device does not support ${name}` };
  }
  return spec.plan(facts, args);
}

/** The commands a node supports, for `DeviceInfo.capabilities.commands`. */
export function commandsFor(facts: NodeFacts): CommandCapability[] {
  return Object.values(COMMANDS)
    .filter((spec) => spec.isSupported(facts))
    .map((spec) => (typeof spec.capability === 'function' ? spec.capability(facts) : spec.capability));
}

function planGenericWrite(facts: NodeFacts, args: Args): CommandPlan {
  const { commandClass, property, propertyKey, endpoint = 0 } = args;
  if (!isInteger(commandClass)) return rejected('commandClass must be a command class number');
  if (typeof property !== 'string' && !isInteger(property))
    return rejected('property must be a string or number');
  if (propertyKey !== undefined && typeof propertyKey !== 'string' && !isInteger(propertyKey)) {
    return rejected('propertyKey must be a string or number');
  }
  if (!isInteger(endpoint) || endpoint < 0) return rejected('endpoint must be a non-negative integer');
  if (!Object.hasOwn(args, 'value')) return rejected('value is missing');
  const duration = durationOf(args);
  if (!duration.ok) return duration;
  // Only the root endpoint's command classes are known here; zwave-js checks other endpoints itself.
  if (endpoint === 0 && !facts.commandClasses.has(commandClass)) {
    return { ok: false, status: 'unsupported', detail: `command class ${commandClass} is not supported` };
  }
  const written: ValueWrite = { commandClass, endpoint, property, value: args.value };
  if (propertyKey !== undefined) written.propertyKey = propertyKey;
  if (duration.durationS !== undefined) written.durationS = duration.durationS;
  return { ok: true, write: written };
}

/** `plan` sent to endpoint `index`, with the transition time when one was asked for. */
function withTarget(plan: CommandPlan, index: number, durationS: number | undefined): CommandPlan {
  if (!plan.ok) return plan;
  const addressed: ValueWrite = { ...plan.write, endpoint: index };
  if (durationS !== undefined) addressed.durationS = durationS;
  return { ok: true, write: addressed };
}

function write(commandClass: number, property: string, value: unknown, propertyKey?: number): CommandPlan {
  const written: ValueWrite = { commandClass, endpoint: 0, property, value };
  if (propertyKey !== undefined) written.propertyKey = propertyKey;
  return { ok: true, write: written };
}

function rejected(detail: string): Refusal {
  return { ok: false, status: 'rejected', detail };
}

function numberFor(table: Record<number, string>, name: unknown): number | undefined {
  const entry = Object.entries(table).find(([, value]) => value === name);
  return entry === undefined ? undefined : Number(entry[0]);
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
