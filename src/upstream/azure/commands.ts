import type { CommandResult, CommandStatus, DeviceCommand } from '../../model.js';
import { isJsonObject, parseJsonObject, resultJson, sizeProblem } from '../common/command-json.js';
import type { IncomingCommand } from '../../commands/incoming.js';
import type { PropertyBag } from './protocol/property-bag.js';

/**
 * Azure C2D messages and direct methods → `IncomingCommand`, and results → the hub's terms. Pure.
 *
 * A C2D body is `{"name", "args"?, "device"?}`; the leaf comes from the body or the `fieldgate-device`
 * application property (gateway identity: the hub only knows the gateway). The command id is the
 * message id (`$.mid`) and the deadline the hub's absolute expiry (`$.exp`). A direct method's name is the
 * command name and its payload `{"device", "args"?}`.
 */

export interface ParseOptions {
  /** Larger payloads are answered `rejected` unparsed. */
  maxBytes: number;
  /** Epoch ms of receipt. */
  now: number;
  route: string;
  newId: () => string;
  /** The connection read past a payload of this size (`payload` is a stand-in): refuse it unread. */
  oversizeBytes?: number;
}

/** The size problem of a payload, if it is over `maxBytes` (or was read past), as an `invalid` command. */
function oversize(
  payload: Buffer,
  options: ParseOptions,
  id: string,
  device?: string,
): IncomingCommand | undefined {
  const bytes = options.oversizeBytes ?? payload.length;
  if (bytes <= options.maxBytes) return undefined;
  const reason = sizeProblem('command', bytes, options.maxBytes);
  return { kind: 'invalid', id, reason, isOversize: true, ...(device === undefined ? {} : { device }) };
}

/** HTTP-like statuses a direct method returns for each result (the caller sees them as the method status). */
const METHOD_STATUS: Record<CommandStatus, number> = {
  ok: 200,
  rejected: 400,
  unsupported: 501,
  failed: 500,
  expired: 504,
};

export function methodStatusFor(status: CommandStatus): number {
  return METHOD_STATUS[status];
}

export function parseC2dMessage(
  properties: PropertyBag,
  payload: Buffer,
  options: ParseOptions,
): IncomingCommand {
  const mid = properties['$.mid'];
  const id = mid === null || mid === undefined || mid === '' ? options.newId() : mid;
  const propertyDevice = properties['fieldgate-device'] ?? undefined;
  const tooLarge = oversize(payload, options, id, propertyDevice ?? undefined);
  if (tooLarge !== undefined) return tooLarge;
  const body = parseJsonObject(payload, options.maxBytes, 'command');
  if (typeof body === 'string') return invalid(id, body, propertyDevice ?? undefined);
  const bodyDevice = typeof body.device === 'string' && body.device !== '' ? body.device : undefined;
  const device = bodyDevice ?? propertyDevice ?? undefined;
  if (device === undefined) return invalid(id, 'no device in the body or the fieldgate-device property');
  if (bodyDevice !== undefined && propertyDevice != null && bodyDevice !== propertyDevice) {
    return invalid(id, `device in property (${propertyDevice}) and body (${bodyDevice}) differ`, device);
  }
  if (typeof body.name !== 'string' || body.name === '')
    return invalid(id, '"name" must be a non-empty string', device);
  const args = body.args ?? {};
  if (!isJsonObject(args)) return invalid(id, '"args" must be an object', device);
  const command: DeviceCommand = {
    id,
    device,
    name: body.name,
    args,
    origin: 'azure',
    route: options.route,
    receivedAt: options.now,
  };
  const exp = properties['$.exp'];
  if (exp != null) {
    const expiresAt = Date.parse(exp);
    if (Number.isNaN(expiresAt)) return invalid(id, '$.exp is not an ISO-8601 time', device);
    command.expiresAt = expiresAt;
  }
  return { kind: 'command', command };
}

/**
 * A direct method request. `timeoutMs` is how long the caller waits for the answer: past it nobody hears
 * the result, so the command must not run any later.
 */
export function parseMethodRequest(
  method: string,
  payload: Buffer,
  options: ParseOptions & { timeoutMs: number },
): IncomingCommand {
  const id = options.newId();
  const tooLarge = oversize(payload, options, id);
  if (tooLarge !== undefined) return tooLarge;
  const body = parseJsonObject(payload, options.maxBytes, 'command');
  if (typeof body === 'string') return invalid(id, body);
  if (typeof body.device !== 'string' || body.device === '')
    return invalid(id, '"device" must be a non-empty string');
  const args = body.args ?? {};
  if (!isJsonObject(args)) return invalid(id, '"args" must be an object', body.device);
  return {
    kind: 'command',
    command: {
      id,
      device: body.device,
      name: method,
      args,
      origin: 'azure',
      route: options.route,
      receivedAt: options.now,
      expiresAt: options.now + options.timeoutMs,
    },
  };
}

/**
 * The properties of a command's result D2C message: correlated with the command (`$.cid`), JSON, and
 * `fieldgate-type=commandResult` so that hub routes can tell results from telemetry.
 */
export function resultProperties(command: { id: string; device?: string }): Record<string, string> {
  return {
    '$.cid': command.id,
    '$.ct': 'application/json',
    '$.ce': 'utf-8',
    'fieldgate-type': 'commandResult',
    ...(command.device === undefined ? {} : { 'fieldgate-device': command.device }),
  };
}

/** The method response body and the result D2C body: `{id, device?, status, detail?, data?}`. */
export function resultBody(command: { id: string; device?: string }, result: CommandResult): Buffer {
  return resultJson(command, result);
}

function invalid(id: string, reason: string, device?: string): IncomingCommand {
  return device === undefined ? { kind: 'invalid', id, reason } : { kind: 'invalid', id, reason, device };
}
