import type { CommandCapability, CommandStatus } from '../../src/model.js';
import { CC, SETPOINT_TYPES, THERMOSTAT_MODES } from './value-mapping.js';

/** What the adapter knows about a node that decides which commands it takes (from zwave-js, read once). */
export interface NodeFacts {
  /** Command classes the root endpoint supports. */
  commandClasses: ReadonlySet<number>;
  /** Binary Switch / Multilevel Switch current state, for `toggle`; undefined when unknown. */
  isOn?: boolean | undefined;
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
}

export type CommandPlan =
  | { ok: true; write: ValueWrite }
  | { ok: false; status: Extract<CommandStatus, 'unsupported' | 'rejected'>; detail: string };

type Args = Record<string, unknown>;
type Planner = (facts: NodeFacts, args: Args) => CommandPlan;

interface CommandSpec {
  capability: CommandCapability;
  /** Whether the node can take this command at all. */
  isSupported(facts: NodeFacts): boolean;
  plan: Planner;
}

const MULTILEVEL_ON = 0xff; // Multilevel Switch Set 0xff: "on at the last non-zero level".

function onOff(state: boolean): Planner {
  return (facts) =>
    facts.commandClasses.has(CC.binarySwitch)
      ? write(CC.binarySwitch, 'targetValue', state)
      : write(CC.multilevelSwitch, 'targetValue', state ? MULTILEVEL_ON : 0);
}

const hasSwitch = (facts: NodeFacts): boolean =>
  facts.commandClasses.has(CC.binarySwitch) || facts.commandClasses.has(CC.multilevelSwitch);
const hasLock = (facts: NodeFacts): boolean =>
  facts.commandClasses.has(CC.doorLock) || facts.commandClasses.has(CC.lock);

function lockState(locked: boolean): Planner {
  // Door Lock mode 0xff secures the bolt and 0x00 releases it; the older Lock CC takes a boolean.
  return (facts) =>
    facts.commandClasses.has(CC.doorLock)
      ? write(CC.doorLock, 'targetMode', locked ? 0xff : 0)
      : write(CC.lock, 'locked', locked);
}

/** Every command the adapter understands, with its argument description and how it becomes a write. */
const COMMANDS: Record<string, CommandSpec> = {
  on: { capability: { name: 'on' }, isSupported: hasSwitch, plan: onOff(true) },
  off: { capability: { name: 'off' }, isSupported: hasSwitch, plan: onOff(false) },
  toggle: {
    capability: { name: 'toggle' },
    isSupported: hasSwitch,
    plan: (facts, args) =>
      facts.isOn === undefined
        ? rejected('the current switch state is not known yet')
        : onOff(!facts.isOn)(facts, args),
  },
  setLevel: {
    capability: { name: 'setLevel', args: { level: { type: 'number', min: 0, max: 99 } } },
    isSupported: (facts) => facts.commandClasses.has(CC.multilevelSwitch),
    plan: (_facts, args) => {
      const level = args.level;
      if (!isInteger(level) || level < 0 || level > 99) return rejected('level must be an integer 0–99');
      return write(CC.multilevelSwitch, 'targetValue', level);
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
        endpoint: { type: 'number', min: 0, max: 127 },
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
    .map((spec) => spec.capability);
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
  // Only the root endpoint's command classes are known here; zwave-js checks other endpoints itself.
  if (endpoint === 0 && !facts.commandClasses.has(commandClass)) {
    return { ok: false, status: 'unsupported', detail: `command class ${commandClass} is not supported` };
  }
  const written: ValueWrite = { commandClass, endpoint, property, value: args.value };
  if (propertyKey !== undefined) written.propertyKey = propertyKey;
  return { ok: true, write: written };
}

function write(commandClass: number, property: string, value: unknown, propertyKey?: number): CommandPlan {
  const written: ValueWrite = { commandClass, endpoint: 0, property, value };
  if (propertyKey !== undefined) written.propertyKey = propertyKey;
  return { ok: true, write: written };
}

function rejected(detail: string): CommandPlan {
  return { ok: false, status: 'rejected', detail };
}

function numberFor(table: Record<number, string>, name: unknown): number | undefined {
  const entry = Object.entries(table).find(([, value]) => value === name);
  return entry === undefined ? undefined : Number(entry[0]);
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
