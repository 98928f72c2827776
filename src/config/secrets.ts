import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMap, isScalar, isSeq, type Scalar } from 'yaml';
import {
  CREDENTIALS_DIRECTORY_VAR,
  credentialName,
  credentialsDirectory,
  fallbackDir,
  missingCredentialHint,
} from './credentials.js';
import { configSchema } from './schema.js';
import { objectKeys, childSchema } from './schema-keys.js';
import { formatPath, type ConfigIssue } from './issues.js';
import {
  issueAt,
  keyText,
  scalarText,
  parseYamlSource,
  positionAt,
  positionOf,
  secretTag,
  type YamlSource,
} from './yaml-source.js';

/** The file `!secret name` reads from, beside the config file. */
export const SECRETS_FILE_NAME = 'secrets.yaml';

/** What resolving references produced: the values (for redaction), problems, and paths left unresolved. */
export interface ReferenceResult {
  /**
   * Every value taken from `secrets.yaml` or a `*File`, so output can redact them wherever they are used.
   * (A `${VAR}` value is a secret only at a secret key; the schema marks those.)
   */
  secrets: string[];
  issues: ConfigIssue[];
  /** Key paths whose reference failed; validation errors there would only repeat the problem. */
  unresolved: PropertyKey[][];
}

// `$${` is an escaped `${`; `${NAME}` is a reference.
const ENV_REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces, in place, every `!secret name` scalar with its value from `secrets.yaml` and every `${VAR}` in a
 * string with the variable's value. Reports every missing secret and unset variable at its position.
 */
export async function resolveReferences(
  source: YamlSource,
  env: NodeJS.ProcessEnv,
): Promise<ReferenceResult> {
  const result: ReferenceResult = { secrets: [], issues: [], unresolved: [] };
  const scalars = collectScalars(source.doc.contents, []);
  const secretsFile = path.join(path.dirname(source.file), SECRETS_FILE_NAME);
  let store: SecretStore | undefined;
  for (const { node, path: keyPath } of scalars) {
    if (node.tag === secretTag.tag) {
      store ??= await loadSecretStore(secretsFile);
      result.issues.push(...store.issues.splice(0));
      const name = String(node.value);
      const value = store.values?.get(name);
      if (store.isRefused) {
        // Already reported once, at the file.
        result.unresolved.push(keyPath);
        continue;
      }
      if (value === undefined) {
        const why =
          store.values === undefined
            ? `${secretsFile} cannot be read; create it beside the config file with the line \`${name}: <value>\``
            : `it is not defined in ${secretsFile}; add the line \`${name}: <value>\``;
        // The node's range starts at the name; the user looks for the tag in front of it.
        const tagOffset = source.text.lastIndexOf(secretTag.tag, node.range?.[0]);
        result.issues.push({
          ...positionAt(source, tagOffset),
          path: formatPath(keyPath),
          message: `secret "${name}" is missing: ${why}`,
        });
        result.unresolved.push(keyPath);
        continue;
      }
      node.value = value;
      delete node.tag;
      result.secrets.push(value);
    } else if (typeof node.value === 'string' && node.value.includes('${')) {
      const missing: string[] = [];
      const text = node.value;
      // Outside systemd, `${CREDENTIALS_DIRECTORY}` is the directory the unit loads credentials from.
      const credentials = text.includes(`\${${CREDENTIALS_DIRECTORY_VAR}}`)
        ? await credentialsDirectory(env)
        : undefined;
      node.value = text.replace(ENV_REFERENCE, (match, name: string | undefined) => {
        if (name === undefined) return '${';
        if (name === CREDENTIALS_DIRECTORY_VAR && credentials !== undefined) return credentials.dir;
        const value = env[name];
        if (value === undefined) {
          missing.push(name);
          return match;
        }
        return value;
      });
      for (const name of missing) {
        const message =
          name === CREDENTIALS_DIRECTORY_VAR
            ? credentialMissingMessage(text, env)
            : `environment variable ${name} is not set`;
        result.issues.push(issueAt(source, keyPath, message));
      }
      if (missing.length > 0) result.unresolved.push(keyPath);
    }
  }
  return result;
}

/**
 * `${CREDENTIALS_DIRECTORY}` is unset (not under systemd) and the directory standing for it is absent:
 * name the credential and where it belongs.
 */
function credentialMissingMessage(text: string, env: NodeJS.ProcessEnv): string {
  const name = new RegExp(`\\$\\{${CREDENTIALS_DIRECTORY_VAR}\\}/([^/\\s]+)$`).exec(text)?.[1];
  const unset = `${CREDENTIALS_DIRECTORY_VAR} is not set (systemd sets it for the service) and ${fallbackDir(env)} does not exist`;
  return name === undefined ? unset : `${unset}; ${missingCredentialHint(name, env)}`;
}

/**
 * For every string key `<x>File` (not among `unresolved`: its reference failed) whose mapping's schema also has `<x>` (`passwordFile` → `password`), reads
 * the file (relative to the config file, trimmed) into `<x>`. Other `*File` keys (TLS `caFile`…) stay paths.
 * The `<x>File` key is kept, so the effective config shows where the value came from.
 */
export async function inlineFileKeys(
  source: YamlSource,
  env: NodeJS.ProcessEnv = process.env,
  unresolved: readonly PropertyKey[][] = [],
): Promise<ReferenceResult> {
  // A `*File` whose `${VAR}` did not resolve was reported there; reading the literal path would repeat it.
  const skipped = new Set(unresolved.map(formatPath));
  const result: ReferenceResult = { secrets: [], issues: [], unresolved: [] };
  const configDir = path.dirname(source.file);
  const credentialsDir = (await credentialsDirectory(env))?.dir;
  const visit = async (
    node: unknown,
    schema: Parameters<typeof childSchema>[0] | undefined,
    keyPath: PropertyKey[],
  ) => {
    if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        await visit(item, schema && childSchema(schema, index), [...keyPath, index]);
      }
      return;
    }
    if (!isMap(node)) return;
    const keys = schema && objectKeys(schema);
    for (const pair of [...node.items]) {
      const key = keyText(pair.key);
      if (key === undefined) continue;
      await visit(pair.value, schema && childSchema(schema, key), [...keyPath, key]);
      const target = key.endsWith('File') ? key.slice(0, -'File'.length) : undefined;
      if (target === undefined || keys?.includes(target) !== true || !isScalar(pair.value)) continue;
      if (typeof pair.value.value !== 'string') continue;
      if (skipped.has(formatPath([...keyPath, key]))) {
        result.unresolved.push([...keyPath, target]);
        continue;
      }
      if (node.has(target)) {
        result.issues.push(
          issueAt(source, [...keyPath, key], `set either ${target} or ${key}, not both`, 'key'),
        );
        continue;
      }
      const filePath = path.resolve(configDir, pair.value.value);
      try {
        const refusal = await secretFileRefusal(filePath);
        if (refusal !== undefined) {
          result.issues.push(issueAt(source, [...keyPath, key], refusal));
          result.unresolved.push([...keyPath, target]);
          continue;
        }
        const value = (await readFile(filePath, 'utf8')).trim();
        const credential = credentialName(filePath, credentialsDir);
        // The unit's `SetCredential=<name>:` default leaves an empty file where a credential is missing.
        if (value === '' && credential !== undefined) {
          result.issues.push(issueAt(source, [...keyPath, key], missingCredentialHint(credential, env)));
          result.unresolved.push([...keyPath, target]);
          continue;
        }
        node.set(target, value);
        result.secrets.push(value);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? String(error);
        const credential = credentialName(filePath, credentialsDir);
        const message =
          reason === 'ENOENT' && credential !== undefined
            ? missingCredentialHint(credential, env)
            : `cannot read ${filePath} (${reason})`;
        result.issues.push(issueAt(source, [...keyPath, key], message));
        result.unresolved.push([...keyPath, target]);
      }
    }
  };
  await visit(source.doc.contents, configSchema, []);
  return result;
}

interface SecretStore {
  /** Undefined when the file cannot be read. */
  values: Map<string, string> | undefined;
  /** The file exists but is not private; nothing is read from it. */
  isRefused?: boolean;
  /** Syntax errors in the secrets file, reported once. */
  issues: ConfigIssue[];
}

async function loadSecretStore(file: string): Promise<SecretStore> {
  let text: string;
  try {
    const refusal = await secretFileRefusal(file);
    if (refusal !== undefined) {
      return {
        values: undefined,
        isRefused: true,
        issues: [{ file, line: 0, col: 0, path: '', message: refusal }],
      };
    }
    text = await readFile(file, 'utf8');
  } catch {
    return { values: undefined, issues: [] };
  }
  const { source, issues } = parseYamlSource(text, file);
  const values = new Map<string, string>();
  const contents = source.doc.contents;
  if (isMap(contents)) {
    for (const pair of contents.items) {
      if (isScalar(pair.key) && isScalar(pair.value) && pair.value.value !== null) {
        values.set(String(pair.key.value), scalarText(pair.value.value));
      }
    }
  } else if (contents !== null) {
    issues.push({ ...positionOf(source, contents), path: '', message: 'expected a mapping of name: value' });
  }
  return { values, issues };
}

function collectScalars(node: unknown, keyPath: PropertyKey[]): { node: Scalar; path: PropertyKey[] }[] {
  if (isScalar(node)) return [{ node, path: keyPath }];
  if (isSeq(node)) return node.items.flatMap((item, index) => collectScalars(item, [...keyPath, index]));
  if (isMap(node)) {
    return node.items.flatMap((pair) => {
      const key = keyText(pair.key);
      return key === undefined ? [] : collectScalars(pair.value, [...keyPath, key]);
    });
  }
  return [];
}

/** Any permission for others, or group write/execute: never allowed on a file holding secrets. */
const NEVER_ALLOWED_BITS = 0o037;
/** Group read: allowed only when the group is the service's own (see `secretFileRefusal`). */
const GROUP_READ_BIT = 0o040;

/**
 * Why a file holding secrets (`secrets.yaml`, a `passwordFile`…) must not be read, or undefined when it
 * may: it is readable or writable by group or others, or owned by neither the user fieldgate runs as nor
 * root. Like ssh with a private key, such a file is refused rather than warned about: a warning scrolls
 * by in the journal while the secret stays readable by every local account. Systemd credentials
 * (`LoadCredential=`) are 0400 and owned by the service user, so they pass. Group read is allowed only
 * when the file's group is the daemon's own primary group (`root:fieldgate 0640` under the unit): only
 * the service user is in it, since CLI users get the separate `fieldgate-cli` group (docs/permissions.md).
 *
 * @throws the `stat` error (ENOENT…) for the caller to report as "cannot read".
 */
export async function secretFileRefusal(file: string): Promise<string | undefined> {
  const info = await stat(file);
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // No POSIX owners (Windows): nothing to check.
  const problems: string[] = [];
  const fixes: string[] = [];
  if (info.uid !== uid && info.uid !== 0) {
    const user = os.userInfo().username;
    problems.push(`is owned by uid ${info.uid}, not by the service user ${user} (uid ${uid}) or root`);
    fixes.push(`chown ${user} ${file}`);
  }
  const mode = info.mode & 0o777;
  const isOwnGroup = info.gid === process.getgid?.();
  const refusedBits = isOwnGroup ? NEVER_ALLOWED_BITS : NEVER_ALLOWED_BITS | GROUP_READ_BIT;
  if ((mode & refusedBits) !== 0) {
    problems.push(`has mode ${mode.toString(8).padStart(4, '0')}, open to ${openTo(mode)}`);
    fixes.push(`chmod 0600 ${file}`);
  }
  if (problems.length === 0) return undefined;
  return `secret file ${file} ${problems.join(' and ')}; it is not read until it is private: ${fixes.join(' && ')}`;
}

function openTo(mode: number): string {
  const group = (mode & 0o070) !== 0;
  const others = (mode & 0o007) !== 0;
  return group && others ? 'group and others' : group ? 'its group' : 'others';
}
