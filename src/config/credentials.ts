import { stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Systemd credentials (docs/secrets.md#systemd-credentials). Under the unit, systemd copies each
 * `LoadCredential=` file into a private directory and names it in `CREDENTIALS_DIRECTORY`; from a shell
 * (`config validate`, `doctor`) that variable is unset, and `${CREDENTIALS_DIRECTORY}` stands for the
 * directory the unit loads them from, so both read the same files.
 */
export const CREDENTIALS_DIRECTORY_VAR = 'CREDENTIALS_DIRECTORY';

/** Where `fieldgate init` (as root) and the unit's `LoadCredential=` lines keep credentials. */
export const DEFAULT_CREDENTIALS_DIR = '/etc/fieldgate/credentials';

/** Names another directory to stand for `${CREDENTIALS_DIRECTORY}` outside systemd. */
export const CREDENTIALS_FALLBACK_VAR = 'FIELDGATE_CREDENTIALS_DIR';

/** The directory `${CREDENTIALS_DIRECTORY}` stands for, and whether systemd set it. */
export interface CredentialsDirectory {
  dir: string;
  isFromSystemd: boolean;
}

/**
 * `CREDENTIALS_DIRECTORY` when systemd set it; otherwise `FIELDGATE_CREDENTIALS_DIR`, else
 * `/etc/fieldgate/credentials` — when that directory exists. Undefined when neither is there.
 */
export async function credentialsDirectory(
  env: NodeJS.ProcessEnv,
): Promise<CredentialsDirectory | undefined> {
  const fromSystemd = env[CREDENTIALS_DIRECTORY_VAR];
  if (fromSystemd !== undefined && fromSystemd !== '') return { dir: fromSystemd, isFromSystemd: true };
  const fallback = fallbackDir(env);
  try {
    if ((await stat(fallback)).isDirectory()) return { dir: fallback, isFromSystemd: false };
  } catch {
    // Absent or unreadable: the caller says where the credential belongs.
  }
  return undefined;
}

/** The directory a shell reads credentials from, whether or not it exists. */
export function fallbackDir(env: NodeJS.ProcessEnv): string {
  const named = env[CREDENTIALS_FALLBACK_VAR];
  return named !== undefined && named !== '' ? path.resolve(named) : DEFAULT_CREDENTIALS_DIR;
}

/**
 * The credential's name when `file` lies directly in the credentials directory, else undefined.
 * `/run/credentials/fieldgate.service/mqtt-password` → `mqtt-password`.
 */
export function credentialName(file: string, dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return relative !== '' && !relative.includes(path.sep) && !relative.startsWith('..') ? relative : undefined;
}

/** What to do about a credential that is missing (or empty: the unit's `SetCredential=` default). */
export function missingCredentialHint(name: string, env: NodeJS.ProcessEnv): string {
  const dir = fallbackDir(env);
  const file = path.join(dir, name);
  const put =
    `credential "${name}" is missing: put it in ${file}, mode 0600, owned by root ` +
    `(sudo install -D -m 0600 -o root /dev/stdin ${file}, type the value, then Ctrl-D)`;
  // Only the default directory is the one the shipped unit loads from.
  return dir === DEFAULT_CREDENTIALS_DIR
    ? `${put}; the unit loads it with LoadCredential=${name}:${file}`
    : put;
}
