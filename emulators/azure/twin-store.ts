/**
 * The emulated hub's device twins (docs/clouds/azure-iot-hub.md#mqtt-topics,
 * #limits-throttles-quotas-billing): per device a `desired` and a `reported` document,
 * each with its own `$version` that grows by one per accepted patch. Patches merge as JSON merge patches
 * (`null` deletes a key). Documents are capped at 32 KB each, as the hub caps them. Front ends call
 * `get`/`patchReported` for devices; tests and the CLI call `updateDesired`/`reported` as the service side
 * would, and every desired patch goes to the `onDesired` listeners (the front ends push it to devices
 * that subscribed).
 */

export type TwinDocument = Record<string, unknown>;

/** What a device receives for a twin GET. */
export interface TwinState {
  desired: TwinDocument & { $version: number };
  reported: TwinDocument & { $version: number };
}

/** A desired patch as devices receive it: the patch itself plus the new `$version`. */
export type DesiredPatch = TwinDocument & { $version: number };

/** Why a patch was refused, as the HTTP-like status the hub answers (400 malformed, 413 too large). */
export class TwinPatchError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The hub's limit for `desired` and for `reported`, each
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export const MAX_TWIN_SECTION_BYTES = 32 * 1024;

interface Twin {
  desired: TwinDocument;
  desiredVersion: number;
  reported: TwinDocument;
  reportedVersion: number;
}

/**
 * The hub's rules for keys and depth in twin documents
 * (https://learn.microsoft.com/azure/iot-hub/iot-hub-devguide-device-twins#tags-and-properties-format):
 * keys are case-sensitive UTF-8 up to 1 KB, without control characters (C0, C1), `.`, `$` or space; objects
 * nest at most 10 deep below the section's own object.
 */
export const MAX_TWIN_DEPTH = 10;
const MAX_KEY_BYTES = 1024;
// eslint-disable-next-line no-control-regex -- control characters are exactly what the hub refuses
const FORBIDDEN_KEY = /[\u0000-\u001f\u007f-\u009f.$ ]/u;

/** A billable twin operation and the bytes it is metered on. */
export type TwinOperation = { kind: 'twinRead' | 'twinUpdate'; bytes: number };

export interface TwinStoreOptions {
  /** Told of every twin read a front end serves (`read`) and every accepted patch, for the meter. */
  onOperation?: (operation: TwinOperation) => void;
}

export class TwinStore {
  readonly #twins = new Map<string, Twin>();
  readonly #listeners = new Set<(deviceId: string, patch: DesiredPatch) => void>();
  readonly #onOperation: (operation: TwinOperation) => void;

  constructor(options: TwinStoreOptions = {}) {
    this.#onOperation = options.onOperation ?? (() => undefined);
  }

  /** `get` for a device or service that reads the twin: metered as a twin read. */
  read(deviceId: string): TwinState {
    const state = this.get(deviceId);
    this.#onOperation({ kind: 'twinRead', bytes: Buffer.byteLength(JSON.stringify(state)) });
    return state;
  }

  /** A copy of the device's twin; a device never seen has empty sections at version 1, as a new twin. */
  get(deviceId: string): TwinState {
    const twin = this.#twin(deviceId);
    return {
      desired: { ...structuredClone(twin.desired), $version: twin.desiredVersion },
      reported: { ...structuredClone(twin.reported), $version: twin.reportedVersion },
    };
  }

  /** Device side: merge a reported patch; returns the new reported `$version`. */
  patchReported(deviceId: string, patch: unknown): number {
    const twin = this.#twin(deviceId);
    twin.reported = merged(twin.reported, patch, 'reported');
    twin.reportedVersion += 1;
    this.#onOperation({ kind: 'twinUpdate', bytes: Buffer.byteLength(JSON.stringify(patch)) });
    return twin.reportedVersion;
  }

  /** Service side: merge a desired patch, tell the listeners, and return the new desired `$version`. */
  updateDesired(deviceId: string, patch: unknown): number {
    const twin = this.#twin(deviceId);
    twin.desired = merged(twin.desired, patch, 'desired');
    twin.desiredVersion += 1;
    this.#onOperation({ kind: 'twinUpdate', bytes: Buffer.byteLength(JSON.stringify(patch)) });
    const pushed: DesiredPatch = { ...structuredClone(patch as TwinDocument), $version: twin.desiredVersion };
    for (const listener of this.#listeners) listener(deviceId, pushed);
    return twin.desiredVersion;
  }

  /** Service side: the device's reported properties with `$version`. */
  reported(deviceId: string): TwinState['reported'] {
    return this.get(deviceId).reported;
  }

  /** Called for every desired patch; returns the function that stops the calls. */
  onDesired(listener: (deviceId: string, patch: DesiredPatch) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #twin(deviceId: string): Twin {
    let twin = this.#twins.get(deviceId);
    if (twin === undefined) {
      twin = { desired: {}, desiredVersion: 1, reported: {}, reportedVersion: 1 };
      this.#twins.set(deviceId, twin);
    }
    return twin;
  }
}

/**
 * Parse a patch body the way the front ends receive it; a TwinPatchError(400) when it is not a JSON
 * object.
 */
export function parsePatch(body: Buffer): TwinDocument {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TwinPatchError(400, 'the patch is not valid JSON');
  }
  if (!isDocument(value)) throw new TwinPatchError(400, 'the patch must be a JSON object');
  return value;
}

/** `base` with `patch` merged in (RFC 7396: objects merge, `null` deletes, anything else replaces). */
function merged(base: TwinDocument, patch: unknown, section: string): TwinDocument {
  if (!isDocument(patch)) throw new TwinPatchError(400, 'the patch must be a JSON object');
  checkKeys(patch, section, 0);
  const result = mergeInto(structuredClone(base), patch);
  // `$`-prefixed keys are the hub's own (`$version`, `$metadata`); a device cannot write them.
  for (const key of Object.keys(result)) if (key.startsWith('$')) delete result[key];
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes > MAX_TWIN_SECTION_BYTES) {
    throw new TwinPatchError(
      413,
      `${section} would be ${bytes} bytes; the limit is ${MAX_TWIN_SECTION_BYTES}`,
    );
  }
  return result;
}

/** Throw TwinPatchError(400) for a key or a nesting the hub refuses; `depth` is the object's level. */
function checkKeys(document: TwinDocument, path: string, depth: number): void {
  if (depth > MAX_TWIN_DEPTH) {
    throw new TwinPatchError(400, `${path} nests deeper than ${MAX_TWIN_DEPTH} levels`);
  }
  for (const [key, value] of Object.entries(document)) {
    if (FORBIDDEN_KEY.test(key) || key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new TwinPatchError(
        400,
        `key ${JSON.stringify(key)} in ${path} is not allowed: no '.', '$', space or control characters, 1 to 1024 bytes`,
      );
    }
    if (isDocument(value)) checkKeys(value, `${path}.${key}`, depth + 1);
  }
}

function mergeInto(target: TwinDocument, patch: TwinDocument): TwinDocument {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value === null) delete target[key];
    else if (isDocument(value)) target[key] = mergeInto(isDocument(current) ? current : {}, value);
    else target[key] = structuredClone(value);
  }
  return target;
}

function isDocument(value: unknown): value is TwinDocument {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
