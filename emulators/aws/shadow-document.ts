/**
 * The Device Shadow document rules of IoT Core (docs/clouds/aws-iot-core.md#device-shadow), as pure
 * functions: request
 * validation with the documented error codes and messages, section merging with `null` deletion,
 * metadata timestamps, delta computation, the 8 KB state limit and version checks.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** A `/rejected` body (or REST status): `{ code, message }`. */
export interface ShadowError {
  code: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500;
  message: string;
}

/** A validated `/update` request. */
export interface UpdateRequest {
  /** The `state` node as sent, nulls included: `/accepted` echoes it. */
  state: { desired?: JsonObject | null; reported?: JsonObject | null };
  clientToken?: string;
  version?: number;
}

/**
 * One shadow as the service stores it. A deleted shadow keeps its version
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
export interface ShadowRecord {
  desired?: JsonObject;
  reported?: JsonObject;
  metadata: { desired?: JsonObject; reported?: JsonObject };
  version: number;
  exists: boolean;
}

/**
 * The state document (desired + reported, metadata excluded) may hold at most this many bytes
 * (docs/clouds/aws-iot-core.md#device-shadow).
 */
export const MAX_STATE_BYTES = 8192;
/** `clientToken` is at most 64 bytes (docs/clouds/aws-iot-core.md#device-shadow). */
export const MAX_CLIENT_TOKEN_BYTES = 64;
/**
 * Levels of nesting allowed below `desired`/`reported` (docs/clouds/aws-iot-core.md#device-shadow: "maximum
 * is 6" counts the section itself).
 */
export const MAX_NESTING_DEPTH = 5;

const SECTIONS = ['desired', 'reported'] as const;

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function depthOf(value: Json): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (isJsonObject(value)) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

const bad = (message: string): { error: ShadowError } => ({ error: { code: 400, message } });

/** Parse and validate an `/update` payload; the error is what `/update/rejected` carries. */
export function parseUpdateRequest(payload: Buffer): { request: UpdateRequest } | { error: ShadowError } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { error: { code: 415, message: 'Unsupported documented encoding; supported encoding is UTF-8' } };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return bad('Invalid JSON');
  }
  if (!isJsonObject(body)) return bad('Invalid JSON');
  const request: UpdateRequest = { state: {} };
  const { clientToken, version, state } = body;
  if (clientToken !== undefined) {
    if (typeof clientToken !== 'string' || Buffer.byteLength(clientToken) > MAX_CLIENT_TOKEN_BYTES) {
      return bad('Invalid clientToken');
    }
    request.clientToken = clientToken;
  }
  if (version !== undefined) {
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
      return bad('Invalid version');
    }
    request.version = version;
  }
  if (state === undefined) return bad('Missing required node: state');
  if (!isJsonObject(state)) return bad('State node must be an object');
  for (const [key, value] of Object.entries(state)) {
    if (key !== 'desired' && key !== 'reported') return bad(`State contains an invalid node: '${key}'`);
    if (value !== null && !isJsonObject(value)) {
      return bad(`${key === 'desired' ? 'Desired' : 'Reported'} node must be an object`);
    }
    if (value !== null && depthOf(value) > MAX_NESTING_DEPTH) {
      return bad(`JSON contains too many levels of nesting; maximum is ${MAX_NESTING_DEPTH + 1}`);
    }
    request.state[key] = value;
  }
  return { request };
}

/** Merge a patch into a section: `null` deletes a field, objects merge, arrays and scalars replace. */
function mergeObject(
  current: JsonObject,
  meta: JsonObject,
  patch: JsonObject,
  timestampS: number,
): { value: JsonObject; meta: JsonObject } {
  const value: JsonObject = { ...current };
  const nextMeta: JsonObject = { ...meta };
  for (const [key, patched] of Object.entries(patch)) {
    if (patched === null) {
      delete value[key];
      delete nextMeta[key];
    } else if (isJsonObject(patched)) {
      const before = value[key];
      const beforeMeta = nextMeta[key];
      const merged = mergeObject(
        isJsonObject(before) ? before : {},
        isJsonObject(beforeMeta) && !('timestamp' in beforeMeta) ? beforeMeta : {},
        patched,
        timestampS,
      );
      value[key] = merged.value;
      nextMeta[key] = merged.meta;
    } else {
      value[key] = patched;
      nextMeta[key] = { timestamp: timestampS };
    }
  }
  return { value, meta: nextMeta };
}

/** Metadata of the fields an update touched: what `/update/accepted` carries. */
export function touchedMetadata(patch: JsonObject, timestampS: number): JsonObject {
  const meta: JsonObject = {};
  for (const [key, value] of Object.entries(patch)) {
    meta[key] = isJsonObject(value) ? touchedMetadata(value, timestampS) : { timestamp: timestampS };
  }
  return meta;
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The delta (docs/clouds/aws-iot-core.md#device-shadow): fields of `desired` whose value differs from
 * `reported` (missing counts as different);
 * nested objects recurse and carry the full path; arrays compare as whole values; reported-only fields
 * never appear. Returns undefined when there is no difference.
 */
export function computeDelta(
  desired: JsonObject | undefined,
  reported: JsonObject | undefined,
): JsonObject | undefined {
  if (desired === undefined) return undefined;
  const delta: JsonObject = {};
  for (const [key, wanted] of Object.entries(desired)) {
    const actual = reported?.[key];
    if (isJsonObject(wanted) && isJsonObject(actual)) {
      const inner = computeDelta(wanted, actual);
      if (inner !== undefined) delta[key] = inner;
    } else if (!deepEqual(wanted, actual)) {
      delta[key] = wanted;
    }
  }
  return Object.keys(delta).length === 0 ? undefined : delta;
}

/** The metadata entries of the delta's fields, taken from `desired`'s metadata. */
export function deltaMetadata(delta: JsonObject, desiredMeta: JsonObject | undefined): JsonObject {
  const meta: JsonObject = {};
  for (const [key, value] of Object.entries(delta)) {
    const entry = desiredMeta?.[key];
    meta[key] =
      isJsonObject(value) && isJsonObject(entry) && !('timestamp' in entry)
        ? deltaMetadata(value, entry)
        : (entry ?? null);
  }
  return meta;
}

/** Bytes of the state document the 8 KB limit applies to: desired and reported, no metadata. */
export function stateBytes(record: Pick<ShadowRecord, 'desired' | 'reported'>): number {
  const state: JsonObject = {};
  if (record.desired !== undefined) state.desired = record.desired;
  if (record.reported !== undefined) state.reported = record.reported;
  return Buffer.byteLength(JSON.stringify(state));
}

export function emptyShadow(): ShadowRecord {
  return { metadata: {}, version: 0, exists: false };
}

/**
 * Apply a validated update to a shadow: the new record, or the error `/update/rejected` carries
 * (409 on a version mismatch, 413 when the merged state exceeds 8 KB). The version increments on
 * every accepted update and continues after a delete.
 */
export function applyUpdate(
  record: ShadowRecord,
  request: UpdateRequest,
  timestampS: number,
): { record: ShadowRecord } | { error: ShadowError } {
  if (request.version !== undefined && request.version !== record.version) {
    return { error: { code: 409, message: 'Version conflict' } };
  }
  const next: ShadowRecord = {
    metadata: { ...(record.exists ? record.metadata : {}) },
    version: record.version + 1,
    exists: true,
  };
  for (const section of SECTIONS) {
    const before = record.exists ? record[section] : undefined;
    const patch = request.state[section];
    if (patch === null) {
      delete next.metadata[section];
      continue;
    }
    if (patch === undefined) {
      if (before !== undefined) next[section] = before;
      continue;
    }
    const merged = mergeObject(before ?? {}, next.metadata[section] ?? {}, patch, timestampS);
    // A section left empty disappears from the document, as after `"desired": null`.
    if (Object.keys(merged.value).length > 0) {
      next[section] = merged.value;
      next.metadata[section] = merged.meta;
    } else {
      delete next.metadata[section];
    }
  }
  if (stateBytes(next) > MAX_STATE_BYTES) {
    return { error: { code: 413, message: 'The payload exceeds the maximum size allowed' } };
  }
  return { record: next };
}

/** The `state` of a full document (GET, `/documents`): desired, reported and, for GET, the delta. */
export function documentState(record: ShadowRecord, withDelta: boolean): JsonObject {
  const state: JsonObject = {};
  if (record.desired !== undefined) state.desired = record.desired;
  if (record.reported !== undefined) state.reported = record.reported;
  const delta = withDelta ? computeDelta(record.desired, record.reported) : undefined;
  if (delta !== undefined) state.delta = delta;
  return state;
}
