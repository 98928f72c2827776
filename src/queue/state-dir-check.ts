import { constants } from 'node:fs';
import { access, chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FieldgateError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The state dir's mode when fieldgate creates it or repairs a group/world-writable one. */
export const STATE_DIR_MODE = 0o750;

/** Who the daemon runs as; injectable so the checks can be tested without changing user. */
export interface RunningAs {
  uid: number;
  gid: number;
}

export function runningAs(): RunningAs | undefined {
  // Windows has no uids: there is nothing to compare.
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  return { uid: process.getuid(), gid: process.getgid() };
}

/**
 * Create the state dir when missing (mode 0750, set explicitly: the umask must not decide it, and under
 * umask 000 a 0777 dir would let any local user race the daemon for its control socket), then check it is
 * the daemon's own: owned by its uid, and not group/world-writable (fixed to 0750, with a WARN, since the
 * daemon owns it).
 * @throws FieldgateError `FG_STORAGE_PERMISSION` when another user owns the state dir.
 */
export async function prepareStateDir(
  stateDir: string,
  log: Logger,
  user: RunningAs | undefined = runningAs(),
): Promise<void> {
  const existed = await stat(stateDir).then(
    () => true,
    () => false,
  );
  if (!existed) {
    await mkdir(stateDir, { recursive: true, mode: STATE_DIR_MODE });
    await chmod(stateDir, STATE_DIR_MODE);
    log.info({ stateDir, mode: octal(STATE_DIR_MODE) }, 'Created the state directory.');
  }
  if (user === undefined) return;
  const found = await stat(stateDir);
  if (found.uid !== user.uid) throw await notOwned(stateDir, found, user, 'state directory');
  if ((found.mode & 0o022) !== 0) {
    try {
      await chmod(stateDir, STATE_DIR_MODE);
      log.warn(
        { stateDir, was: octal(found.mode & 0o7777), now: octal(STATE_DIR_MODE) },
        'The state directory was writable by other users; its mode was set to 0750.',
      );
    } catch (e) {
      // A read-only mount: the queue reports it when it opens; the mode is fixed on a later start.
      log.warn(
        { stateDir, err: String(e) },
        'The state directory is writable by other users; it cannot be fixed now.',
      );
    }
  }
}

/**
 * Before LevelDB opens the queue: every file in it must be readable and writable by the daemon, and the
 * directory its own. Cheap, and unlike LevelDB's own error it names the file, its owner and mode. A
 * read-only mount is not reported here (EROFS): the open reports it as a storage state.
 * @throws FieldgateError `FG_STORAGE_PERMISSION`.
 */
export async function checkQueueFiles(
  queueDir: string,
  user: RunningAs | undefined = runningAs(),
): Promise<void> {
  if (user === undefined) return;
  const dirStat = await stat(queueDir).catch(() => undefined);
  if (dirStat === undefined || !dirStat.isDirectory()) return;
  if (dirStat.uid !== user.uid) throw await notOwned(queueDir, dirStat, user, 'queue directory');
  const entries = [queueDir, ...(await readdir(queueDir)).map((name) => path.join(queueDir, name))];
  for (const entry of entries) {
    const mode =
      entry === queueDir ? constants.R_OK | constants.W_OK | constants.X_OK : constants.R_OK | constants.W_OK;
    const refusal = await access(entry, mode).then(
      () => undefined,
      (e: unknown) => (e as NodeJS.ErrnoException).code,
    );
    if (refusal === 'EACCES' || refusal === 'EPERM') {
      const found = await stat(entry);
      throw await unusable(entry, found, user, queueDir);
    }
  }
}

async function notOwned(
  dir: string,
  found: { uid: number; mode: number },
  user: RunningAs,
  what: string,
): Promise<FieldgateError> {
  const owner = await userName(found.uid);
  const self = await userName(user.uid);
  const fix =
    user.uid === 0
      ? `run fieldgate as ${owner ?? `uid ${found.uid}`} (the service user), not as root: files root creates there would lock the service out`
      : `as root: chown -R ${self ?? user.uid}:${(await groupName(user.gid)) ?? user.gid} ${dir}`;
  return new FieldgateError(
    'FG_STORAGE_PERMISSION',
    `The ${what} ${dir} is owned by ${who(owner, found.uid)}, mode ${octal(found.mode & 0o7777)}, but fieldgate runs as ${who(self, user.uid)}. Nothing was changed. Fix: ${fix}.`,
    { context: { path: dir, ownerUid: found.uid, mode: octal(found.mode & 0o7777), daemonUid: user.uid } },
  );
}

async function unusable(
  file: string,
  found: { uid: number; mode: number },
  user: RunningAs,
  queueDir: string,
): Promise<FieldgateError> {
  const owner = await userName(found.uid);
  const self = await userName(user.uid);
  const group = await groupName(user.gid);
  const stateDir = path.dirname(queueDir);
  return new FieldgateError(
    'FG_STORAGE_PERMISSION',
    `The queue file ${file} is owned by ${who(owner, found.uid)} with mode ${octal(found.mode & 0o7777)}, and fieldgate runs as ${who(self, user.uid)}: it cannot read and write it (was fieldgate run once as another user?). Nothing was moved or repaired. Fix, as root: chown -R ${self ?? user.uid}:${group ?? user.gid} ${stateDir}`,
    { context: { path: file, ownerUid: found.uid, mode: octal(found.mode & 0o7777), daemonUid: user.uid } },
  );
}

function who(name: string | undefined, uid: number): string {
  return name === undefined ? `uid ${uid}` : `${name} (uid ${uid})`;
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}

/** Names from /etc/passwd and /etc/group; undefined when absent (NSS users beyond the files are not looked up). */
async function userName(uid: number): Promise<string | undefined> {
  return nameOf('/etc/passwd', uid);
}

async function groupName(gid: number): Promise<string | undefined> {
  return nameOf('/etc/group', gid);
}

async function nameOf(file: string, id: number): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , idText] = line.split(':');
    if (name !== undefined && idText === String(id)) return name;
  }
  return undefined;
}
