import type { z } from 'zod';

// The mark itself is declared in the adapter contract, so a radio's options schema can use it without
// importing the daemon's config code; every schema (adapters' and the daemon's) shares the one registry.
import { secret, secretRegistry, type SecretKind } from '../../adapters/adapter.js';

export { secret, type SecretKind };

type Schema = z.core.$ZodType;
interface AnyDef {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  valueType?: Schema;
  element?: Schema;
  options?: Schema[];
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch']);

/** The secret kind marked on `schema` or on any wrapper layer inside it; undefined when not a secret. */
export function secretKindOf(schema: Schema): SecretKind | undefined {
  let current: Schema | undefined = schema;
  while (current !== undefined) {
    const mark = secretRegistry.get(current)?.secret;
    if (mark !== undefined) return mark;
    const def = current._zod.def as AnyDef;
    current = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
  }
  return undefined;
}

function unwrapped(schema: Schema): AnyDef {
  let def = schema._zod.def as AnyDef;
  for (;;) {
    const next = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
    if (next === undefined) return def;
    def = next._zod.def;
  }
}

/** One secret-bearing key of the schema: `*` stands for a name the user chooses, `[]` for a list item. */
export interface SecretField {
  path: string[];
  kind: SecretKind;
}

/** Every key `schema` marks as secret, through records, lists and every option of a union. */
export function secretFields(schema: Schema): SecretField[] {
  const found = new Map<string, SecretField>();
  const visit = (node: Schema, path: string[]) => {
    const kind = secretKindOf(node);
    if (kind !== undefined) {
      found.set(path.join('.'), { path, kind });
      return;
    }
    const def = unwrapped(node);
    if (def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape ?? {})) visit(child, [...path, key]);
    } else if (def.type === 'record' && def.valueType !== undefined) {
      visit(def.valueType, [...path, '*']);
    } else if (def.type === 'array' && def.element !== undefined) {
      visit(def.element, [...path, '[]']);
    } else if (def.type === 'union') {
      for (const option of def.options ?? []) visit(option, path);
    }
  };
  visit(schema, []);
  return [...found.values()];
}

/** Every scalar key of the schema, as `a.*.b[]`-style paths, with its secret kind if marked. */
export function scalarFields(schema: Schema): { path: string[]; kind: SecretKind | undefined }[] {
  const found = new Map<string, { path: string[]; kind: SecretKind | undefined }>();
  const visit = (node: Schema, path: string[]) => {
    const kind = secretKindOf(node);
    const def = unwrapped(node);
    if (kind === undefined && def.type === 'object') {
      for (const [key, child] of Object.entries(def.shape ?? {})) visit(child, [...path, key]);
    } else if (kind === undefined && def.type === 'record' && def.valueType !== undefined) {
      visit(def.valueType, [...path, '*']);
    } else if (kind === undefined && def.type === 'array' && def.element !== undefined) {
      visit(def.element, [...path, '[]']);
    } else if (kind === undefined && def.type === 'union') {
      for (const option of def.options ?? []) visit(option, path);
    } else {
      found.set(path.join('.'), { path, kind });
    }
  };
  visit(schema, []);
  return [...found.values()];
}

/**
 * Walks `value` along `schema` and calls `visit` for every present value at a secret key; its return
 * value replaces the original in the copy returned. Every option of a union is followed, so a key that
 * is secret in one upstream type is found whatever `type` says (a value that fails validation included).
 */
export function mapSecrets(
  value: unknown,
  schema: Schema,
  visit: (value: unknown, kind: SecretKind, path: PropertyKey[]) => unknown,
  path: PropertyKey[] = [],
): unknown {
  if (value === undefined || value === null) return value;
  const kind = secretKindOf(schema);
  if (kind !== undefined) return visit(value, kind, path);
  const def = unwrapped(schema);
  switch (def.type) {
    case 'object': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = { ...value };
      for (const [key, child] of Object.entries(value)) {
        const childSchema = def.shape?.[key];
        if (childSchema !== undefined) out[key] = mapSecrets(child, childSchema, visit, [...path, key]);
      }
      return out;
    }
    case 'record': {
      if (!isPlainObject(value) || def.valueType === undefined) return value;
      const valueType = def.valueType;
      return Object.fromEntries(
        Object.entries(value).map(([key, child]) => [
          key,
          mapSecrets(child, valueType, visit, [...path, key]),
        ]),
      );
    }
    case 'array': {
      if (!Array.isArray(value) || def.element === undefined) return value;
      const element = def.element;
      return value.map((item: unknown, index) => mapSecrets(item, element, visit, [...path, index]));
    }
    case 'union':
      return (def.options ?? []).reduce<unknown>(
        (current, option) => mapSecrets(current, option, visit, path),
        value,
      );
    default:
      return value;
  }
}

/** The secret kind at a concrete key path (`['routes', 'local', 'upstream', 'password']`), if any. */
export function secretKindAt(schema: Schema, path: readonly PropertyKey[]): SecretKind | undefined {
  const fields = secretFields(schema);
  const keys = path.map((key) => (typeof key === 'number' ? '[]' : String(key)));
  return fields.find(
    (field) =>
      field.path.length <= keys.length &&
      field.path.every((segment, index) => segment === '*' || segment === keys[index]),
  )?.kind;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
