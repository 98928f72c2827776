import type { CommandCapability, CommandResult, DeviceCommand } from '../../src/model.js';
import type { ArgPart, GattCommandOptions, PayloadPart } from './options.js';
import { encodeValue, formatRange } from './value-format.js';

/** A validated command: the bytes to write and where. */
export interface WritePlan {
  service: string;
  characteristic: string;
  data: Buffer;
  withResponse: boolean;
}

export type PlanResult =
  | { ok: true; plan: WritePlan }
  | { ok: false; status: Extract<CommandResult['status'], 'unsupported' | 'rejected'>; detail: string };

const isArg = (part: PayloadPart): part is ArgPart => 'arg' in part;

/** What the command router needs to validate commands before queueing them (DeviceInfo.capabilities). */
export function commandCapabilities(commands: GattCommandOptions[]): CommandCapability[] {
  return commands.map((command) => {
    const args: NonNullable<CommandCapability['args']> = {};
    for (const part of command.payload.filter(isArg)) {
      if (part.enum !== undefined) args[part.arg] = { type: 'string', enum: Object.keys(part.enum) };
      else if (part.format === 'bool') args[part.arg] = { type: 'boolean' };
      else args[part.arg] = { type: 'number', ...argRange(part) };
    }
    return Object.keys(args).length === 0 ? { name: command.name } : { name: command.name, args };
  });
}

/**
 * Turns a device command into the bytes to write, or says why it cannot run: an unknown command name is
 * `unsupported`; a missing, extra, mistyped or out-of-range argument is `rejected`. Pure.
 */
export function planCommand(commands: GattCommandOptions[], cmd: DeviceCommand): PlanResult {
  const command = commands.find((c) => c.name === cmd.name);
  if (command === undefined) {
    return { ok: false, status: 'unsupported', detail: `the device has no command '${cmd.name}'` };
  }
  const argParts = command.payload.filter(isArg);
  const extra = Object.keys(cmd.args).filter((name) => !argParts.some((p) => p.arg === name));
  if (extra.length > 0) return rejected(`unknown argument(s): ${extra.join(', ')}`);

  const chunks: Buffer[] = [];
  for (const part of command.payload) {
    if (!isArg(part)) {
      chunks.push(Buffer.from(part.hex, 'hex'));
      continue;
    }
    const encoded = encodeArg(part, cmd.args[part.arg]);
    if (typeof encoded === 'string') return rejected(encoded);
    chunks.push(encoded);
  }
  return {
    ok: true,
    plan: {
      service: command.service,
      characteristic: command.characteristic,
      data: Buffer.concat(chunks),
      withResponse: command.withResponse,
    },
  };
}

/** The encoded argument, or a sentence saying what is wrong with it. */
function encodeArg(part: ArgPart, value: unknown): Buffer | string {
  if (value === undefined) return `missing argument '${part.arg}'`;
  if (part.enum !== undefined) {
    const code = typeof value === 'string' ? part.enum[value] : undefined;
    if (code === undefined) return `'${part.arg}' must be one of ${Object.keys(part.enum).join(', ')}`;
    return encodeValue(code, part.format);
  }
  if (part.format === 'bool') {
    if (typeof value !== 'boolean') return `'${part.arg}' must be a boolean`;
    return encodeValue(value ? 1 : 0, 'bool');
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return `'${part.arg}' must be a number`;
  const { min, max } = argRange(part);
  if (value < min || value > max) return `'${part.arg}' must be between ${min} and ${max}`;
  return encodeValue(value / part.scale, part.format);
}

/** The accepted argument range: what the config says, never wider than the wire format can carry. */
function argRange(part: ArgPart): { min: number; max: number } {
  const raw = formatRange(part.format);
  const [lo, hi] = [raw.min * part.scale, raw.max * part.scale].sort((a, b) => a - b) as [number, number];
  return { min: Math.max(lo, part.min ?? lo), max: Math.min(hi, part.max ?? hi) };
}

const rejected = (detail: string): PlanResult => ({ ok: false, status: 'rejected', detail });
