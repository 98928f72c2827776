import { chown, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';

/**
 * The group the control socket goes to when `control.group` is not set, if it exists: the CLI users'
 * group that `systemd/fieldgate.sysusers` creates, apart from the service's own group `fieldgate`, which
 * can read the config and secrets and write the queue.
 */
export const DEFAULT_SOCKET_GROUP = 'fieldgate-cli';

export interface SocketGroup {
  name: string;
  gid: number;
}

/**
 * A group's id from its number or its name in the group file (`/etc/group`, where systemd-sysusers and
 * groupadd write; a group only in LDAP must be given by number). `undefined` when there is no such group.
 */
export async function lookupGroupId(group: string, groupFile = '/etc/group'): Promise<number | undefined> {
  if (/^\d+$/.test(group)) return Number(group);
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/**
 * The CLI group of `control.group`: undefined tries {@link DEFAULT_SOCKET_GROUP} (absent on a developer
 * machine: said at INFO), '' keeps the daemon's own group, a named group that does not exist is a WARN.
 * Returns undefined whenever the socket keeps the daemon's group.
 */
export async function resolveSocketGroup(
  group: string | undefined,
  log: Logger,
  groupFile?: string,
): Promise<SocketGroup | undefined> {
  if (group === '') return undefined;
  const name = group ?? DEFAULT_SOCKET_GROUP;
  const gid = await lookupGroupId(name, groupFile);
  if (gid !== undefined) return { name, gid };
  if (group === undefined)
    log.info({ group: name }, `No group ${name} here; the control socket keeps the daemon's own group.`);
  else
    log.warn(
      { group: name },
      `control.group ${name} does not exist; the control socket keeps the daemon's own group. Create it: groupadd --system ${name}.`,
    );
  return undefined;
}

/**
 * Lets the CLI group through the socket's directory, before the socket exists. Only a directory of the
 * daemon's own holding nothing but the socket is changed (the RuntimeDirectory /run/fieldgate); a shared one
 * such as the state dir would show its contents to the group, so that is left alone, with a WARN.
 */
export async function openDirectoryTo(
  dir: string,
  socketPath: string,
  group: SocketGroup,
  log: Logger,
): Promise<void> {
  const info = await stat(dir);
  if (info.gid === group.gid || (info.mode & 0o001) !== 0) return;
  const entries = await readdir(dir);
  const isOwnSocketDir =
    info.uid === process.getuid?.() && entries.every((entry) => entry === path.basename(socketPath));
  if (isOwnSocketDir) {
    // Not a member of the group: the socket's chown fails the same way and says so.
    await chown(dir, -1, group.gid).catch(() => undefined);
    return;
  }
  log.warn(
    { directory: dir, group: group.name },
    `Group ${group.name} cannot pass through ${dir}, so its members cannot reach the control socket; give the socket a directory of its own (the default /run/fieldgate/control.sock).`,
  );
}

/** Gives the bound socket to the CLI group; returns the group's name, or undefined (with a WARN) if refused. */
export async function giveSocketTo(
  socketPath: string,
  group: SocketGroup,
  log: Logger,
): Promise<string | undefined> {
  try {
    await chown(socketPath, -1, group.gid);
    return group.name;
  } catch (e) {
    log.warn(
      { socket: socketPath, group: group.name, err: (e as NodeJS.ErrnoException).code },
      `Cannot give the control socket to group ${group.name}, so its members cannot use the CLI; make the service user a member: usermod -aG ${group.name} fieldgate.`,
    );
    return undefined;
  }
}
