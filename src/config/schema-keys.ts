import type { z } from 'zod';

/**
 * Read-only introspection of the zod config schema, so key matching (env overrides, `*File` siblings,
 * "did you mean" hints) follows the schema instead of a second, hand-kept list of keys.
 */

type Schema = z.core.$ZodType;

/** Wrappers that do not change which keys a value may have. */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

/** Strips optional/default/prefault wrappers and transforms down to the schema that shapes the input. */
export function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (WRAPPERS.has(def.type) && def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else return current;
  }
}

/** The keys an object schema (or any option of a union of objects) accepts; undefined for records and scalars. */
export function objectKeys(schema: Schema): string[] | undefined {
  const def = unwrap(schema)._zod.def as { type: string; shape?: Record<string, Schema>; options?: Schema[] };
  if (def.type === 'object' && def.shape !== undefined) return Object.keys(def.shape);
  if (def.type === 'union' && def.options !== undefined) {
    const keys = def.options.flatMap((option) => objectKeys(option) ?? []);
    return keys.length > 0 ? [...new Set(keys)] : undefined;
  }
  return undefined;
}

/** True when the schema is a record: its keys are names the user chooses (route and adapter names). */
export function isRecord(schema: Schema): boolean {
  return unwrap(schema)._zod.def.type === 'record';
}

/** The schema of `key` inside `schema`, or undefined when the schema has no such key. */
export function childSchema(schema: Schema, key: string | number): Schema | undefined {
  const def = unwrap(schema)._zod.def as {
    type: string;
    shape?: Record<string, Schema>;
    options?: Schema[];
    valueType?: Schema;
    element?: Schema;
  };
  switch (def.type) {
    case 'object':
      return def.shape?.[String(key)];
    case 'record':
      return def.valueType;
    case 'array':
      return def.element;
    case 'union':
      for (const option of def.options ?? []) {
        const child = childSchema(option, key);
        if (child !== undefined) return child;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Follows a key path from `schema`; undefined as soon as a key is unknown. */
export function schemaAt(schema: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let current: Schema | undefined = schema;
  for (const key of path) {
    if (current === undefined || typeof key === 'symbol') return undefined;
    current = childSchema(current, key);
  }
  return current;
}
