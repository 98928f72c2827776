import { randomUUID } from 'node:crypto';
import type { CommandResult, DeviceCommand } from '../../model.js';
import type { IncomingCommand } from '../upstream.js';

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

type Body = Record<string, unknown>;

function isObject(v: unknown): v is Body {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Epoch ms from a number or an ISO-8601 string; undefined when it is neither. */
function toEpochMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
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
  const invalid = (reason: string, id?: unknown, device?: string): IncomingCommand => {
    const result: IncomingCommand = {
      kind: 'invalid',
      id: typeof id === 'string' && id.length > 0 ? id : newId(),
      reason,
    };
    if (device !== undefined) result.device = device;
    return result;
  };

  if (payload.length > options.maxBytes) {
    return invalid(
      `command is ${payload.length} bytes; the limit is ${options.maxBytes}`,
      undefined,
      topicDevice,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return invalid('command is not valid JSON', undefined, topicDevice);
  }
  if (!isObject(body)) return invalid('command must be a JSON object', undefined, topicDevice);

  const { id } = body;
  const bodyDevice = typeof body.device === 'string' && body.device.length > 0 ? body.device : undefined;
  const device = topicDevice ?? bodyDevice;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) {
    return invalid('"id" must be a non-empty string', undefined, device);
  }
  if (device === undefined || device.length === 0) return invalid('no device in topic or body', id);
  if (topicDevice !== undefined && bodyDevice !== undefined && topicDevice !== bodyDevice) {
    return invalid(`device in topic (${topicDevice}) and body (${bodyDevice}) differ`, id, device);
  }
  if (typeof body.name !== 'string' || body.name.length === 0) {
    return invalid('"name" must be a non-empty string', id, device);
  }
  const args = body.args ?? {};
  if (!isObject(args)) return invalid('"args" must be an object', id, device);

  let expiresAt: number | undefined;
  if (body.expiresAt !== undefined) {
    expiresAt = toEpochMs(body.expiresAt);
    if (expiresAt === undefined) return invalid('"expiresAt" must be epoch ms or an ISO date', id, device);
  }
  if (body.ttlMs !== undefined) {
    if (typeof body.ttlMs !== 'number' || !(body.ttlMs >= 0)) {
      return invalid('"ttlMs" must be a non-negative number', id, device);
    }
    // With both, the earlier deadline wins: the sender meant "no later than" either way.
    expiresAt = Math.min(expiresAt ?? Infinity, options.now + body.ttlMs);
  }

  const command: DeviceCommand = {
    id: id ?? newId(),
    device,
    name: body.name,
    args,
    origin: 'mqtt',
    route: options.route,
    receivedAt: options.now,
  };
  if (expiresAt !== undefined) command.expiresAt = expiresAt;
  return { kind: 'command', command };
}

/** The result message: `{ "id", "device", "status", "detail"?, "data"?, "ts" }`, published to `<results>`. */
export function formatResultPayload(
  command: { id: string; device?: string },
  result: CommandResult,
  ts: number,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: command.id,
      device: command.device,
      status: result.status,
      detail: result.detail,
      data: result.data,
      ts,
    }),
  );
}
