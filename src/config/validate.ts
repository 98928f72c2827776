import { type Node, visit } from 'yaml';
import type { z } from 'zod';
import { checkDevices } from './devices.js';
import { configSchema, type Config } from './schema.js';
import { objectKeys, schemaAt } from './schema-keys.js';
import { formatPath, type ConfigIssue } from './issues.js';
import { secretKindAt } from './secret-fields.js';
import { issueAt, positionAt, positionOf, type YamlSource } from './yaml-source.js';

/** YAML 1.1 booleans that YAML 1.2 reads as strings, the classic `enabled: no` trap. */
const YAML11_BOOLEANS = new Set(['yes', 'no', 'on', 'off', 'y', 'n']);
/** How much of a wrong value an error message quotes. */
const MAX_QUOTED_CHARS = 80;

/**
 * Validates the (resolved, overridden) document against the schema and locates every issue. Issues at or
 * under a path in `skip` are dropped: a missing secret there was already reported.
 */
export function validateDocument(
  source: YamlSource,
  skip: readonly PropertyKey[][],
): { config: Config | undefined; issues: ConfigIssue[] } {
  let input: unknown;
  try {
    input = source.doc.toJS() ?? {};
  } catch (e) {
    // The parser refuses to expand aliases past its limit (an "alias bomb" that would exhaust memory).
    if (e instanceof ReferenceError) return { config: undefined, issues: [aliasIssue(source, e)] };
    // Collections nested thousands deep (a mangled file) overflow the stack while being read; the parser
    // has already reported where, so this only has to keep the overflow from escaping as a crash.
    if (e instanceof RangeError) return { config: undefined, issues: [depthIssue(source)] };
    throw e;
  }
  const result = configSchema.safeParse(input, { reportInput: true });
  const deviceIssues = checkDevices(input).map((problem) =>
    issueAt(source, problem.path, problem.message, problem.at),
  );
  if (result.success && deviceIssues.length === 0) return { config: result.data, issues: [] };
  const schemaIssues = result.success
    ? []
    : result.error.issues
        .filter((issue) => !skip.some((prefix) => startsWith(issue.path, prefix)))
        .flatMap((issue) => locate(source, issue));
  return { config: undefined, issues: [...schemaIssues, ...deviceIssues] };
}

/** Points at the first alias, the place to start writing values out. */
function aliasIssue(source: YamlSource, error: ReferenceError): ConfigIssue {
  let alias: Node | undefined;
  visit(source.doc, {
    Alias: (_key, node) => {
      alias = node;
      return visit.BREAK;
    },
  });
  const position = alias === undefined ? { file: source.file, line: 1, col: 1 } : positionOf(source, alias);
  return { ...position, path: '', message: `aliases cannot be expanded: ${error.message}` };
}

/** The document cannot be read at all: too deeply nested. Points at the first parser error, if any. */
function depthIssue(source: YamlSource): ConfigIssue {
  const first = [...source.doc.errors, ...source.doc.warnings][0];
  const position =
    first === undefined ? { file: source.file, line: 1, col: 1 } : positionAt(source, first.pos[0]);
  return { ...position, path: '', message: 'the document nests too deeply to be read' };
}

function locate(source: YamlSource, issue: z.core.$ZodIssue): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    const known = objectKeys(schemaAt(configSchema, issue.path) ?? configSchema) ?? [];
    return issue.keys.map((key) =>
      issueAt(source, [...issue.path, key], `unknown key "${key}"${suggestion(key, known)}`, 'key'),
    );
  }
  if (issue.code === 'invalid_key') {
    const name = String(issue.path.at(-1));
    const why = issue.issues.map((inner) => inner.message).join('; ');
    return [issueAt(source, issue.path, `invalid name "${name}": ${why}`, 'key')];
  }
  if (issue.code === 'invalid_type') {
    const mayQuote =
      secretKindAt(configSchema, issue.path) === undefined && !isOverridden(source, issue.path);
    return [issueAt(source, issue.path, typeMessage(issue, mayQuote))];
  }
  if (issue.code === 'invalid_union') return [issueAt(source, issue.path, unionMessage(issue))];
  return [issueAt(source, issue.path, issue.message)];
}

/**
 * `unknown adapter type "zigbe"; expected one of ble, sim, zigbee, zwave (did you mean "zigbee"?)` for a
 * wrong `type`, and the alternatives for any other union (`expected number, or a size such as 512MB`),
 * instead of zod's "Invalid discriminator value" / "Invalid input".
 */
function unionMessage(issue: z.core.$ZodIssueInvalidUnion): string {
  const { discriminator, options } = issue as { discriminator?: unknown; options?: unknown };
  if (typeof discriminator === 'string' && Array.isArray(options)) {
    const expected = options.map(String).sort();
    const what = issue.path.includes('adapters')
      ? 'adapter '
      : issue.path.includes('upstream')
        ? 'upstream '
        : '';
    const input = issue.input as Record<string, unknown> | undefined;
    const written = typeof input === 'object' && input !== null ? input[discriminator] : undefined;
    if (written === undefined)
      return `missing ${what}${discriminator}; expected one of ${expected.join(', ')}`;
    const shown = typeof written === 'string' ? written : shortJson(written);
    return (
      `unknown ${what}${discriminator} ${JSON.stringify(shown)}; expected one of ${expected.join(', ')}` +
      (typeof written === 'string' ? suggestion(written, expected) : '')
    );
  }
  const alternatives = issue.errors
    .map((inner) => inner[0]?.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, ''))
    .filter((message): message is string => message !== undefined);
  return alternatives.length === 0 ? issue.message : alternatives.join(', or ');
}

/**
 * `expected number, got "abc"`. The value is quoted only when `mayQuote`: never at a secret key, and never
 * for a `FIELDGATE__…` variable (the issue names the variable; its value may be a credential).
 */
function typeMessage(issue: z.core.$ZodIssueInvalidType, mayQuote: boolean): string {
  const input = issue.input;
  if (input === undefined) return `missing required key (expected ${issue.expected})`;
  if (!mayQuote) return `expected ${issue.expected}, got ${kindOf(input)} (value not shown)`;
  const got = input === null ? 'null' : shortJson(input);
  const hint =
    issue.expected === 'boolean' && typeof input === 'string' && YAML11_BOOLEANS.has(input.toLowerCase())
      ? ' (YAML 1.2 reads yes/no/on/off as strings; write true or false)'
      : '';
  return `expected ${issue.expected}, got ${got}${hint}`;
}

/**
 * A value as JSON on one line, cut short: an error message quotes what was written, but a pasted blob or a
 * multi-line string must not become megabytes of output or lines without a file position.
 */
function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length <= MAX_QUOTED_CHARS
    ? json
    : `${json.slice(0, MAX_QUOTED_CHARS)}… (${json.length} characters)`;
}

/** " (did you mean "maxBytes"?)" for a key one or two edits, or only a letter case, away from a known key. */
function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ distance }) => distance <= 2)
    .sort((a, b) => a.distance - b.distance)[0];
  return best === undefined ? '' : ` (did you mean "${best.candidate}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function kindOf(value: unknown): string {
  return value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'a mapping'
        : `a ${typeof value}`;
}

/** True when the path, or a mapping above it, was set by a `FIELDGATE__…` variable. */
function isOverridden(source: YamlSource, path: readonly PropertyKey[]): boolean {
  for (let length = path.length; length > 0; length--) {
    if (source.overrides.has(formatPath(path.slice(0, length)))) return true;
  }
  return false;
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return formatPath(path.slice(0, prefix.length)) === formatPath(prefix);
}
