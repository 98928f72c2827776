import { isMap, parse } from 'yaml';
import { configSchema } from './schema.js';
import { childSchema, isRecord, objectKeys, schemaAt, unwrap } from './schema-keys.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { keyText, type YamlSource } from './yaml-source.js';

/** Variables named `FIELDGATE__SECTION__KEY` override `section.key`. */
export const ENV_OVERRIDE_PREFIX = 'FIELDGATE__';

/**
 * Applies every `FIELDGATE__…` variable to the parsed document, before validation, and records which
 * variable set which path so validation errors there name the variable.
 *
 * Each `__`-separated segment matches a schema key case-insensitively (`MAXBYTES` → `maxBytes`); inside a
 * record (routes, adapters) it matches an existing name case-insensitively, else it becomes a new lowercase
 * name. An unknown key is kept as written, so validation reports it like an unknown key in the file. The
 * value is parsed as YAML, so `true`, `500` and `[a, b]` get their types — except where the schema expects
 * text: there the variable's text is taken as it is (`PASSWORD=12345` is the string "12345").
 */
export function applyEnvOverrides(source: YamlSource, env: NodeJS.ProcessEnv): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_OVERRIDE_PREFIX))
    .sort();
  for (const name of names) {
    const segments = name.slice(ENV_OVERRIDE_PREFIX.length).split('__');
    if (segments.some((segment) => segment === '')) {
      issues.push({ file: name, line: 0, col: 0, path: '', message: 'expected FIELDGATE__SECTION__KEY' });
      continue;
    }
    const keyPath = matchKeyPath(source, segments);
    const parents = keyPath
      .slice(0, -1)
      .map((_, index) => source.doc.getIn(keyPath.slice(0, index + 1), true));
    if (parents.some((node) => node !== undefined && !isMap(node))) {
      issues.push({
        file: name,
        line: 0,
        col: 0,
        path: formatPath(keyPath),
        message: 'cannot be set: a parent key is not a mapping',
      });
      continue;
    }
    const text = env[name] ?? '';
    const schema = schemaAt(configSchema, keyPath);
    const value = schema !== undefined && expectsText(schema) ? textValue(text) : parseValue(text);
    source.doc.setIn(keyPath, source.doc.createNode(value));
    source.overrides.set(formatPath(keyPath), name);
  }
  return issues;
}

function matchKeyPath(source: YamlSource, segments: string[]): string[] {
  const keyPath: string[] = [];
  let schema: Parameters<typeof childSchema>[0] | undefined = configSchema;
  for (const segment of segments) {
    const lower = segment.toLowerCase();
    let key: string | undefined;
    if (schema !== undefined && isRecord(schema)) {
      const existing = source.doc.getIn(keyPath);
      key = isMap(existing)
        ? existing.items.map((pair) => keyText(pair.key)).find((k) => k?.toLowerCase() === lower)
        : undefined;
    } else if (schema !== undefined) {
      key = objectKeys(schema)?.find((k) => k.toLowerCase() === lower);
    }
    key ??= lower;
    keyPath.push(key);
    schema = schema && childSchema(schema, key);
  }
  return keyPath;
}

/** True when the schema takes only text there (a string or a choice of words), whatever it looks like. */
function expectsText(schema: Parameters<typeof unwrap>[0]): boolean {
  const def = unwrap(schema)._zod.def as { type: string; options?: Parameters<typeof unwrap>[0][] };
  if (def.type === 'union') return (def.options ?? []).every((option) => expectsText(option));
  return def.type === 'string' || def.type === 'enum' || def.type === 'template_literal';
}

/** For a text key: a quoted YAML string loses its quotes; anything else (`12345`, `true`, `[x]`) is the text. */
function textValue(text: string): string {
  const parsed = parseValue(text);
  return typeof parsed === 'string' ? parsed : text;
}

function parseValue(text: string): unknown {
  // An empty variable means an empty string, not YAML's null.
  if (text === '') return '';
  try {
    return parse(text) as unknown;
  } catch {
    // Not valid YAML on its own (`a: b: c`): the user meant the text.
    return text;
  }
}
