import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FieldgateError } from '../errors.js';
import { applyEnvOverrides } from './env-overrides.js';
import { compareIssues, formatIssue, formatPath, type ConfigIssue } from './issues.js';
import { Redactor, secretValuesOf } from './redact.js';
import { applyRenamedKeys } from './renamed-keys.js';
import type { Config } from './schema.js';
import { inlineFileKeys, resolveReferences } from './secrets.js';
import { validateDocument } from './validate.js';
import { parseYamlSource } from './yaml-source.js';

export { formatIssue, type ConfigIssue } from './issues.js';

export interface LoadOptions {
  /** Source of `${VAR}` values and `FIELDGATE__…` overrides; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory a relative `file` is resolved against; default `process.cwd()`. */
  cwd?: string;
}

export interface LoadedConfig {
  /** Validated, defaults applied, paths absolute, deep-frozen. */
  config: Config;
  /** Absolute path of the file that was loaded. */
  file: string;
  /** Secret values as supplied (by `!secret`, a secret file, or at a secret key however it was set). */
  secrets: string[];
  /** Knows every secret in every printable form; every output path (logs, status, errors) goes through it. */
  redactor: Redactor;
  /**
   * What loaded but should change, at its position: an old key name that still works (its message starts
   * with `warning:`). Shown by `config validate` and logged by the daemon.
   */
  warnings: ConfigIssue[];
}

/**
 * Reads, parses, resolves and validates a config file: YAML 1.2 → `!secret` / `${VAR}` → `FIELDGATE__…`
 * overrides → renamed keys → `*File` contents → schema. Every problem is reported at once.
 *
 * Relative paths (`stateDir`, every `…Dir` / `…File` key, `control.socket`) resolve against the config file's
 * directory.
 *
 * @throws FieldgateError `FG_CONFIG_NOT_FOUND` when the file cannot be read; `FG_CONFIG_SECRET_MISSING`
 *   when a secret, variable or `*File` has no value; otherwise `FG_CONFIG_INVALID`. The latter two carry
 *   every issue (of any kind) in `context.errors: ConfigIssue[]`; all exit 78.
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const absoluteFile = path.resolve(options.cwd ?? process.cwd(), file);
  let text: string;
  try {
    text = await readFile(absoluteFile, 'utf8');
  } catch (cause) {
    throw new FieldgateError('FG_CONFIG_NOT_FOUND', `Cannot read the configuration file ${absoluteFile}.`, {
      cause,
      context: { file: absoluteFile },
    });
  }

  const { source, issues: syntaxIssues } = parseYamlSource(text, absoluteFile);
  const references = await resolveReferences(source, env);
  const overrideIssues = applyEnvOverrides(source, env);
  const renamed = applyRenamedKeys(source);
  const fileKeys = await inlineFileKeys(source, env, references.unresolved);
  // Values at secret keys however they were supplied, as written (`0x…`, `01:02:…`, `12345`, a list):
  // the redactor derives every other form from them.
  // A reference that did not resolve still holds its name (`!secret name`, `${VAR}`): not a secret.
  const unresolved = new Set([...references.unresolved, ...fileKeys.unresolved].map(formatPath));
  const atSecretKeys = secretValuesOf(writtenValues(source), (path) => !unresolved.has(formatPath(path)));
  const secrets = [
    ...new Set([
      ...references.secrets,
      ...fileKeys.secrets,
      ...atSecretKeys.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))),
    ]),
  ].filter((s) => s !== '');
  const redactor = new Redactor([...secrets, ...atSecretKeys]);
  const secretIssues = [...references.issues, ...fileKeys.issues];
  const { config, issues: schemaIssues } = validateDocument(source, [
    ...references.unresolved,
    ...fileKeys.unresolved,
  ]);

  const errors = [...syntaxIssues, ...secretIssues, ...overrideIssues, ...renamed.errors, ...schemaIssues]
    .map((issue) => scrubIssue(issue, redactor))
    .sort(compareIssues);
  if (config === undefined || errors.length > 0) {
    const code = secretIssues.length > 0 ? 'FG_CONFIG_SECRET_MISSING' : 'FG_CONFIG_INVALID';
    const problems = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
    throw new FieldgateError(
      code,
      `${absoluteFile} has ${problems}:\n${errors.map(formatIssue).join('\n')}`,
      {
        context: { file: absoluteFile, errors },
      },
    );
  }
  return {
    config: deepFreeze(resolvePaths(config, path.dirname(absoluteFile))),
    file: absoluteFile,
    secrets,
    redactor,
    warnings: renamed.warnings.sort(compareIssues),
  };
}

/** The document's values after references and overrides, before validation; undefined if it cannot expand. */
function writtenValues(source: { doc: { toJS(): unknown } }): unknown {
  try {
    return source.doc.toJS();
  } catch {
    return undefined; // An alias bomb: validation reports it.
  }
}

/** An issue never quotes a secret, whatever produced its message (the parser, the schema, a hint). */
function scrubIssue(issue: ConfigIssue, redactor: Redactor): ConfigIssue {
  return { ...issue, path: redactor.scrub(issue.path), message: redactor.scrub(issue.message) };
}

// Keys holding filesystem paths: `stateDir`, TLS `caFile`…, `passwordFile`, the control `socket`.
const PATH_KEY = /(Dir|File)$|^socket$/;

/**
 * Makes every path-valued key absolute, relative to the config file's directory, so the daemon's working
 * directory never matters. An empty string keeps its meaning ("disabled") and stays empty.
 */
function resolvePaths<T>(value: T, baseDir: string): T {
  if (Array.isArray(value)) return value.map((item: unknown) => resolvePaths(item, baseDir)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const isPath = typeof child === 'string' && child !== '' && PATH_KEY.test(key);
    out[key] = isPath ? path.resolve(baseDir, child) : resolvePaths(child, baseDir);
  }
  return out as T;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
