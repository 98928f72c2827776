/**
 * A partial `reported` document: fields to set, `null` to delete (docs/clouds/aws-iot-core.md#device-shadow).
 */
export type Patch = Record<string, unknown>;

function isObject(value: unknown): value is Patch {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merge `patch` into `target` in place, as the shadow service merges an update: objects merge field by
 * field, anything else replaces. With `isApplied`, a `null` deletes the field (the service's view);
 * without, it is kept, because a pending `null` is an instruction still to be sent.
 */
export function mergePatch(target: Patch, patch: Readonly<Patch>, isApplied = false): void {
  for (const [field, value] of Object.entries(patch)) {
    const current = target[field];
    if (value === null && isApplied) {
      delete target[field];
    } else if (isObject(value) && isObject(current)) {
      mergePatch(current, value, isApplied);
    } else {
      target[field] = isObject(value) ? structuredClone(value) : value;
    }
  }
}

/** The fields of `pending` whose value differs from `confirmed`: the rest would change nothing. */
export function changedFields(pending: Readonly<Patch>, confirmed: Readonly<Patch>): Patch {
  const changed: Patch = {};
  for (const [field, value] of Object.entries(pending)) {
    if (JSON.stringify(value) !== JSON.stringify(confirmed[field])) changed[field] = value;
  }
  return changed;
}

/** Serialized size of a document section, as the 8 KB limit counts it. */
export function patchBytes(patch: Readonly<Patch>): number {
  return Buffer.byteLength(JSON.stringify(patch));
}
