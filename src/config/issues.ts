/**
 * One problem found in a configuration, located where the user must fix it: a file position, or — for a
 * `FIELDGATE__…` override — the environment variable (then `file` is the variable name and `line`/`col`
 * are 0).
 */
export interface ConfigIssue {
  file: string;
  /** 1-based; 0 when the issue is not at a file position. */
  line: number;
  /** 1-based; 0 when the issue is not at a file position. */
  col: number;
  /** Dotted key path such as `routes.local.upstream.url`; empty for a YAML syntax error. */
  path: string;
  message: string;
}

/** `FILE:LINE:COL: path: message`, the form editors and CI logs turn into links. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}` : issue.file;
  const message = oneLine(issue.message, MAX_MESSAGE_CHARS);
  return issue.path === ''
    ? `${where}: ${message}`
    : `${where}: ${oneLine(issue.path, MAX_PATH_CHARS)}: ${message}`;
}

/** A key path is short unless a mangled file made a whole collection a key (`[{…}]: x`). */
const MAX_PATH_CHARS = 120;
/** Messages quote keys and values; binary garbage read as one long key must not become a huge line. */
const MAX_MESSAGE_CHARS = 500;

/** Every issue stays one line, so each line of the output starts with its position. */
function oneLine(text: string, maxChars = Number.POSITIVE_INFINITY): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars)}…`;
}

/** `['routes', 'local', 'batch', 'maxItems']` → `routes.local.batch.maxItems`; indices as `functions[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Orders issues as a reader scans them: by file, then position. */
export function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}
