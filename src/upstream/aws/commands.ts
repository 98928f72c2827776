import { randomUUID } from 'node:crypto';
import {
  ID_PROBLEM,
  isUsableId,
  parseCommandFields,
  parseJsonObject,
  sizeProblem,
} from '../common/command-json.js';
import type { IncomingCommand } from '../../commands/incoming.js';

export interface ParseRequestOptions {
  /** The device named by the request topic's `{device}` level. */
  device: string;
  /** Larger payloads are answered `rejected` without being parsed. */
  maxBytes: number;
  /** Epoch ms of receipt: the base of `ttlMs`, and the command's `receivedAt`. */
  now: number;
  route: string;
  newId?: () => string;
  /** The connection read past a payload of this size (`payload` is a stand-in): refuse it unread. */
  oversizeBytes?: number;
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
  const invalid = (reason: string, id?: string): IncomingCommand => ({
    kind: 'invalid',
    id: id ?? newId(),
    reason,
    device,
  });

  const bytes = options.oversizeBytes ?? payload.length;
  if (bytes > options.maxBytes) {
    const reason = sizeProblem('request', bytes, options.maxBytes);
    return { kind: 'invalid', id: newId(), reason, device, isOversize: true };
  }
  const body = parseJsonObject(payload, options.maxBytes, 'request');
  if (typeof body === 'string') return invalid(body);
  const { id } = body;
  if (!isUsableId(id)) return invalid(ID_PROBLEM);
  const fields = parseCommandFields(body, options.now);
  if (typeof fields === 'string') return invalid(fields, id);
  return {
    kind: 'command',
    command: {
      id: id ?? newId(),
      device,
      ...fields,
      origin: 'aws',
      route: options.route,
      receivedAt: options.now,
    },
  };
}
