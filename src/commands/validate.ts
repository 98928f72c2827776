import type { CommandCapability, DeviceCommand, DeviceInfo } from '../model.js';

type ArgSpec = NonNullable<CommandCapability['args']>[string];

/**
 * Why a command id cannot be held, or undefined when it can. Ids are kept in memory for every held command
 * and every recent result, so their size is bounded; see docs/commands.md for what the clouds send.
 */
export function idProblem(id: string, limits: { maxIdLength: number }): string | undefined {
  if (id.length <= limits.maxIdLength) return undefined;
  return (
    `command id is ${id.length} characters; the limit is ${limits.maxIdLength} ` +
    `(commands.maxIdLength; this result carries its first ${limits.maxIdLength})`
  );
}

/**
 * Check a command against what its target device says it can do
 * (docs/architecture.md#where-validation-happens: "known command for its
 * capabilities? args well-formed?"). Pure: no I/O, no clock.
 *
 * Returns undefined when the command may be queued, or a sentence for the `rejected` result that tells the
 * cloud operator exactly what to fix. Every argument a capability describes is optional, because
 * `CommandCapability` has no notion of a required argument; the adapter answers for missing ones.
 */
export function validateCommand(
  cmd: DeviceCommand,
  info: DeviceInfo,
  limits: { maxArgsBytes: number },
): string | undefined {
  if (typeof cmd.name !== 'string' || cmd.name === '') return 'command name is missing';
  if (typeof cmd.args !== 'object' || cmd.args === null || Array.isArray(cmd.args)) {
    return `args of ${cmd.name} must be a JSON object`;
  }
  // Measured before the per-argument checks so an oversized payload costs one serialisation only.
  const argsBytes = serializedBytes(cmd.args);
  if (argsBytes === undefined) return `args of ${cmd.name} are nested too deeply`;
  if (argsBytes > limits.maxArgsBytes) {
    return `args of ${cmd.name} are ${argsBytes} bytes; the limit is ${limits.maxArgsBytes}`;
  }

  const capability = info.capabilities.commands.find((c) => c.name === cmd.name);
  if (capability === undefined) {
    const supported = info.capabilities.commands.map((c) => c.name);
    return (
      `unknown command ${cmd.name} for ${info.id}; it supports: ` +
      (supported.length > 0 ? supported.join(', ') : 'no commands')
    );
  }

  const specs = capability.args ?? {};
  for (const [argName, value] of Object.entries(cmd.args)) {
    // Own keys only: `__proto__` or `constructor` must not find Object.prototype's members as a spec.
    const spec = Object.hasOwn(specs, argName) ? specs[argName] : undefined;
    if (spec === undefined) {
      const known = Object.keys(specs);
      return (
        `unknown argument ${argName} for ${cmd.name}; ` +
        (known.length > 0 ? `expected: ${known.join(', ')}` : 'it takes no arguments')
      );
    }
    const problem = checkArg(value, spec);
    if (problem !== undefined) return `argument ${argName} of ${cmd.name} ${problem}`;
  }
  return undefined;
}

/** The JSON size of `value`, or undefined when it is too deeply nested to serialise (the stack runs out). */
function serializedBytes(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/** Why one argument value does not match its description, or undefined when it does. */
function checkArg(value: unknown, spec: ArgSpec): string | undefined {
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be a boolean, got ${describe(value)}`;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return `must be a number, got ${describe(value)}`;
      }
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}, got ${value}`;
      if (spec.max !== undefined && value > spec.max) return `must be at most ${spec.max}, got ${value}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
      if (spec.enum !== undefined && !spec.enum.includes(value)) {
        return `must be one of ${spec.enum.join(', ')}, got ${JSON.stringify(value)}`;
      }
      return undefined;
    case 'json':
      return undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return `a value of type ${typeof value}`;
}
