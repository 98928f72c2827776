import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node,
  type ScalarTag,
} from 'yaml';
import { formatPath, type ConfigIssue } from './issues.js';

/**
 * `!secret name`: the scalar keeps the name as its value and `!secret` as its tag; `secrets.ts` replaces it
 * with the value from `secrets.yaml`. Registering the tag keeps the parser from warning about it.
 */
export const secretTag: ScalarTag = {
  tag: '!secret',
  resolve: (name) => name,
};

/** A parsed YAML file that can say where any key path is written. */
export interface YamlSource {
  readonly file: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** Key paths (dotted) set by environment overrides → the variable's name; issues there name the variable. */
  readonly overrides: Map<string, string>;
}

/**
 * Parses YAML 1.2 (so `no` is the string "no", not false) and reports every syntax error and duplicate key
 * with its position. The document is returned even with errors, so validation can still report the rest.
 */
export function parseYamlSource(text: string, file: string): { source: YamlSource; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    customTags: [secretTag],
    uniqueKeys: true,
    prettyErrors: false,
    // The library would print its own warnings (a collection used as a key) to stderr as Node warnings,
    // lines without a file position; the schema reports such a key as an invalid name instead.
    logLevel: 'error',
  });
  const source: YamlSource = { file, text, doc, lineCounter, overrides: new Map() };
  const issues = [...doc.errors, ...doc.warnings].map((error) => {
    const position = positionAt(source, error.pos[0]);
    // The library's wording ("Map keys must be unique") says neither which key nor where it sits.
    const keyPath = error.code === 'DUPLICATE_KEY' ? keyPathAt(doc.contents, error.pos[0], []) : undefined;
    return keyPath === undefined
      ? { ...position, path: '', message: error.message }
      : { ...position, path: formatPath(keyPath), message: `duplicate key "${String(keyPath.at(-1))}"` };
  });
  return { source, issues };
}

/** The file position of a character offset. */
export function positionAt(source: YamlSource, offset: number): Omit<ConfigIssue, 'path' | 'message'> {
  const { line, col } = source.lineCounter.linePos(offset);
  return { file: source.file, line, col };
}

/** The file position of a node (its first character). */
export function positionOf(source: YamlSource, node: Node): Omit<ConfigIssue, 'path' | 'message'> {
  return positionAt(source, node.range?.[0] ?? 0);
}

/**
 * Locates a key path: at the key itself (`at: 'key'`, for unknown keys and bad names) or at its value.
 * A path that is not written in the file (a missing required key) points at the deepest mapping that is;
 * a path under an environment override names the variable instead.
 */
export function issueAt(
  source: YamlSource,
  path: readonly PropertyKey[],
  message: string,
  at: 'key' | 'value' = 'value',
): ConfigIssue {
  const dotted = formatPath(path);
  for (let length = path.length; length > 0; length--) {
    const variable = source.overrides.get(formatPath(path.slice(0, length)));
    if (variable !== undefined) return { file: variable, line: 0, col: 0, path: dotted, message };
  }
  let node: unknown = source.doc.contents;
  let located: Node | null = isNodeWithRange(node) ? node : null;
  let depth = 0;
  for (const [index, key] of path.entries()) {
    const isLast = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(key));
      if (pair === undefined) break;
      node = pair.value;
      const target = at === 'key' && isLast ? pair.key : pair.value;
      located = isNodeWithRange(target) ? target : located;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (!isNodeWithRange(node)) break;
      located = node;
    } else {
      break;
    }
    depth = index + 1;
  }
  // A mapping an override created has no position; the variable that created it is the place to fix.
  if (depth > 0 && !isNodeWithRange(node)) {
    const prefix = formatPath(path.slice(0, depth));
    for (const [overridden, variable] of source.overrides) {
      if (overridden.startsWith(`${prefix}.`) || overridden.startsWith(`${prefix}[`)) {
        return { file: variable, line: 0, col: 0, path: dotted, message };
      }
    }
  }
  const position = located === null ? { file: source.file, line: 1, col: 1 } : positionOf(source, located);
  return { ...position, path: dotted, message };
}

function isNodeWithRange(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value && Array.isArray(value.range);
}

/** The key path of the mapping key that starts at `offset`, if one does. */
function keyPathAt(node: unknown, offset: number, keyPath: PropertyKey[]): PropertyKey[] | undefined {
  if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) {
      const found = keyPathAt(item, offset, [...keyPath, index]);
      if (found !== undefined) return found;
    }
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = keyText(pair.key);
      if (key === undefined) continue;
      const childPath = [...keyPath, key];
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) return childPath;
      const found = keyPathAt(pair.value, offset, childPath);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The text of a mapping key: a parsed key is a Scalar node, a key added by `setIn` (an override) is a plain
 * value. Undefined for a complex key (a mapping used as a key), which no config accepts.
 */
export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return scalarText(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

/** A scalar's value as text: a key or secret written as `1234` or `true` is still meant as text. */
export function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
