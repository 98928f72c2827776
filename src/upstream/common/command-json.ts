import type { CommandResult, DeviceCommand } from '../../model.js';

/**
 * The JSON that carries commands down and results up on every cloud: a command body
 * `{ "id"?, "name", "args"?, "expiresAt"? (epoch ms or ISO string), "ttlMs"? }` (each transport adds how
 * it names the device) and a result `{ "id", "device", "status", "detail"?, "data"? }`. Pure; every
 * problem is returned as the reason sentence the router's `rejected` result carries, never thrown.
 */

export type JsonObject = Record<string, unknown>;

/** What a valid command body says besides its id and device. */
export type CommandFields = Pick<DeviceCommand, 'name' | 'args' | 'expiresAt'>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON object in the payload, or the reason it is not one. `noun` names the payload in the reason
 * (`command is not valid JSON`); a payload over `maxBytes` is refused unparsed.
 */
export function parseJsonObject(payload: Buffer, maxBytes: number, noun: string): JsonObject | string {
  if (payload.length > maxBytes) return sizeProblem(noun, payload.length, maxBytes);
  try {
    const body = JSON.parse(payload.toString('utf8')) as unknown;
    return isJsonObject(body) ? body : `${noun} must be a JSON object`;
  } catch {
    return `${noun} is not valid JSON`;
  }
}

/** The reason a payload of `bytes` over `maxBytes` is refused unread. */
export function sizeProblem(noun: string, bytes: number, maxBytes: number): string {
  return `${noun} is ${bytes} bytes; the limit is ${maxBytes}`;
}

export const ID_PROBLEM = '"id" must be a non-empty string';

/** Whether a body's `id` can be used: absent (one is generated) or a non-empty string. */
export function isUsableId(id: unknown): id is string | undefined {
  return id === undefined || (typeof id === 'string' && id.length > 0);
}

/**
 * `name`, `args` (default `{}`) and the deadline of a command body, or the reason they are unusable. With
 * both `expiresAt` and `ttlMs` (counted from `nowMs`, the receipt), the earlier deadline wins: the sender
 * meant "no later than" either way.
 */
export function parseCommandFields(body: JsonObject, nowMs: number): CommandFields | string {
  if (typeof body.name !== 'string' || body.name.length === 0) return '"name" must be a non-empty string';
  const args = body.args ?? {};
  if (!isJsonObject(args)) return '"args" must be an object';
  let expiresAt: number | undefined;
  if (body.expiresAt !== undefined) {
    expiresAt = toEpochMs(body.expiresAt);
    if (expiresAt === undefined) return '"expiresAt" must be epoch ms or an ISO date';
  }
  if (body.ttlMs !== undefined) {
    if (typeof body.ttlMs !== 'number' || !(body.ttlMs >= 0)) return '"ttlMs" must be a non-negative number';
    expiresAt = Math.min(expiresAt ?? Infinity, nowMs + body.ttlMs);
  }
  return expiresAt === undefined ? { name: body.name, args } : { name: body.name, args, expiresAt };
}

/** A result as JSON: `{ id, device, status, detail, data }` then `extra` (such as `ts`); undefined drops out. */
export function resultJson(
  command: { id: string; device?: string },
  result: CommandResult,
  extra: JsonObject = {},
): Buffer {
  const { status, detail, data } = result;
  return Buffer.from(
    JSON.stringify({ id: command.id, device: command.device, status, detail, data, ...extra }),
  );
}

/** Epoch ms from a number or an ISO-8601 string; undefined when it is neither. */
function toEpochMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
