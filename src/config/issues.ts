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
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
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
