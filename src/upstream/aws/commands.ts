import { randomUUID } from 'node:crypto';
import type { DeviceCommand } from '../../model.js';
import type { IncomingCommand } from '../upstream.js';

export interface ParseRequestOptions {
  /** The device named by the request topic's `{device}` level. */
  device: string;
  /** Larger payloads are answered `rejected` without being parsed. */
  maxBytes: number;
  /** Epoch ms of receipt: the base of `ttlMs`, and the command's `receivedAt`. */
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

/**
 * Turn one request from `cmd/fieldgate/{gateway}/{device}/req` into an `IncomingCommand`. Body:
 * `{ "id"?, "name", "args"?, "expiresAt"? (epoch ms or ISO string), "ttlMs"? }`; the device is the topic's.
 * Never throws: anything malformed becomes `{ kind: 'invalid' }`, which the command router answers with
 * exactly one `rejected` response on the device's response topic, and the connection stays up.
 */
export function parseCommandRequest(payload: Buffer, options: ParseRequestOptions): IncomingCommand {
  const newId = options.newId ?? randomUUID;
  const { device } = options;
  const invalid = (reason: string, id?: unknown): IncomingCommand => ({
    kind: 'invalid',
    id: typeof id === 'string' && id.length > 0 ? id : newId(),
    reason,
    device,
  });

  if (payload.length > options.maxBytes) {
    return invalid(`request is ${payload.length} bytes; the limit is ${options.maxBytes}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return invalid('request is not valid JSON');
  }
  if (!isObject(body)) return invalid('request must be a JSON object');
  const { id } = body;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) {
    return invalid('"id" must be a non-empty string');
  }
  if (typeof body.name !== 'string' || body.name.length === 0) {
    return invalid('"name" must be a non-empty string', id);
  }
  const args = body.args ?? {};
  if (!isObject(args)) return invalid('"args" must be an object', id);

  let expiresAt: number | undefined;
  if (body.expiresAt !== undefined) {
    expiresAt = toEpochMs(body.expiresAt);
    if (expiresAt === undefined) return invalid('"expiresAt" must be epoch ms or an ISO date', id);
  }
  if (body.ttlMs !== undefined) {
    if (typeof body.ttlMs !== 'number' || !(body.ttlMs >= 0)) {
      return invalid('"ttlMs" must be a non-negative number', id);
    }
    // With both, the earlier deadline wins: the sender meant "no later than" either way.
    expiresAt = Math.min(expiresAt ?? Infinity, options.now + body.ttlMs);
  }

  const command: DeviceCommand = {
    id: id ?? newId(),
    device,
    name: body.name,
    args,
    origin: 'aws',
    route: options.route,
    receivedAt: options.now,
  };
  if (expiresAt !== undefined) command.expiresAt = expiresAt;
  return { kind: 'command', command };
}
