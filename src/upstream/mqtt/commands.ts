import { randomUUID } from 'node:crypto';
import type { CommandResult } from '../../model.js';
import {
  ID_PROBLEM,
  isUsableId,
  parseCommandFields,
  parseJsonObject,
  resultJson,
  sizeProblem,
} from '../common/command-json.js';
import type { IncomingCommand } from '../../commands/incoming.js';

export interface ParseCommandOptions {
  /** The concrete commands topic (no trailing slash); `<commands>/<device>` names the device. */
  commandsTopic: string;
  /** Larger payloads are answered `rejected` without being parsed. */
  maxBytes: number;
  /** Epoch ms of receipt: the base of `ttlMs` and the command's `receivedAt`. */
  now: number;
  route: string;
  newId?: () => string;
}

function deviceFromTopic(topic: string, commandsTopic: string): string | undefined {
  const prefix = `${commandsTopic}/`;
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}

/**
 * Turn one MQTT command message into an `IncomingCommand`. Body:
 * `{ "id"?, "device"?, "name", "args"?, "expiresAt"? (epoch ms or ISO string), "ttlMs"? }`; the device
 * comes from the topic (`<commands>/<device>`) or the body. Never throws: anything malformed becomes
 * `{ kind: 'invalid' }`, so the router still answers with exactly one `rejected` result.
 */
export function parseCommandMessage(
  topic: string,
  payload: Buffer,
  options: ParseCommandOptions,
): IncomingCommand {
  const newId = options.newId ?? randomUUID;
  const topicDevice = deviceFromTopic(topic, options.commandsTopic);
  const invalid = (reason: string, id: string | undefined, device: string | undefined): IncomingCommand => {
    const result: IncomingCommand = { kind: 'invalid', id: id ?? newId(), reason };
    if (device !== undefined) result.device = device;
    return result;
  };

  if (payload.length > options.maxBytes) return oversizeCommand(topic, payload.length, options);
  const body = parseJsonObject(payload, options.maxBytes, 'command');
  if (typeof body === 'string') return invalid(body, undefined, topicDevice);
  const { id } = body;
  const bodyDevice = typeof body.device === 'string' && body.device.length > 0 ? body.device : undefined;
  const device = topicDevice ?? bodyDevice;
  if (!isUsableId(id)) return invalid(ID_PROBLEM, undefined, device);
  if (device === undefined || device.length === 0)
    return invalid('no device in topic or body', id, undefined);
  if (topicDevice !== undefined && bodyDevice !== undefined && topicDevice !== bodyDevice) {
    return invalid(`device in topic (${topicDevice}) and body (${bodyDevice}) differ`, id, device);
  }
  const fields = parseCommandFields(body, options.now);
  if (typeof fields === 'string') return invalid(fields, id, device);
  return {
    kind: 'command',
    command: {
      id: id ?? newId(),
      device,
      ...fields,
      origin: 'mqtt',
      route: options.route,
      receivedAt: options.now,
    },
  };
}

/**
 * A command message of `bytes` that is refused unread (the connection read past it, or it is over
 * `maxBytes`): `invalid` under a new id, with the device its topic names, if any.
 */
export function oversizeCommand(topic: string, bytes: number, options: ParseCommandOptions): IncomingCommand {
  const device = deviceFromTopic(topic, options.commandsTopic);
  return {
    kind: 'invalid',
    id: (options.newId ?? randomUUID)(),
    reason: sizeProblem('command', bytes, options.maxBytes),
    isOversize: true,
    ...(device === undefined ? {} : { device }),
  };
}

/** The result message: `{ "id", "device", "status", "detail"?, "data"?, "ts" }`, published to `<results>`. */
export function formatResultPayload(
  command: { id: string; device?: string },
  result: CommandResult,
  ts: number,
): Buffer {
  return resultJson(command, result, { ts });
}
