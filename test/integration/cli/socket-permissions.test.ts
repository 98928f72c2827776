import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { waitFor } from '../support/daemon.js';

const MAIN = path.resolve('dist/src/main.js');
const run = promisify(execFile);
const TOOLS = [
  '/usr/sbin/useradd',
  '/usr/sbin/groupadd',
  '/usr/sbin/userdel',
  '/usr/sbin/groupdel',
  '/usr/bin/setpriv',
];
const isRoot = process.getuid?.() === 0;
const hasTools = TOOLS.every((tool) => existsSync(tool));

// Short, unique names (≤ 32 chars), so a crashed earlier run cannot collide.
const suffix = `${process.pid % 100_000}`;
const SERVICE = `fgsvc${suffix}`;
const CLI_GROUP = `fgcli${suffix}`;
const CLI_USER = `fguse${suffix}`;
const OTHER_USER = `fgoth${suffix}`;

/** Runs `args` as `user` with the user's groups from the group file, as a login (or systemd) would. */
function asUser(user: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('/usr/bin/setpriv', [
      '--reuid',
      user,
      '--regid',
      user,
      '--init-groups',
      '--',
      ...args,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The permission model with real users: the service in its own group, a CLI user in the CLI group only,
 * and a stranger. Needs root (to create users); elsewhere it is skipped, visibly.
 */
describe.skipIf(!isRoot || !hasTools)(
  'control socket and file access with real users (skipped: needs root, useradd and setpriv)',
  () => {
    let root: string;
    let daemon: ChildProcess | undefined;
    let output = '';
    let socket: string;
    let cliGid: number;

    beforeAll(async () => {
      await run('/usr/sbin/groupadd', ['--system', CLI_GROUP]);
      await run('/usr/sbin/useradd', ['--system', '--user-group', '--groups', CLI_GROUP, SERVICE]);
      await run('/usr/sbin/useradd', ['--system', '--user-group', '--groups', CLI_GROUP, CLI_USER]);
      await run('/usr/sbin/useradd', ['--system', '--user-group', OTHER_USER]);
      cliGid = Number((await run('/usr/bin/getent', ['group', CLI_GROUP])).stdout.split(':')[2]);
      const svc = Number((await run('/usr/bin/id', ['-u', SERVICE])).stdout);
      const svcGid = Number((await run('/usr/bin/id', ['-g', SERVICE])).stdout);

      // The layout install.sh and the unit make: /etc/fieldgate root:fieldgate 0750 with 0640 files,
      // /var/lib/fieldgate and /run/fieldgate fieldgate:fieldgate 0750.
      root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-perms-'));
      await chmod(root, 0o755);
      const etc = path.join(root, 'etc');
      const state = path.join(root, 'state');
      const runDir = path.join(root, 'run');
      socket = path.join(runDir, 'control.sock');
      await mkdir(etc, { mode: 0o750 });
      await chown(etc, 0, svcGid);
      for (const dir of [state, runDir]) {
        await mkdir(dir, { mode: 0o750 });
        await chown(dir, svc, svcGid);
      }
      const config = {
        gateway: { id: 'perms', stateDir: state },
        control: { socket, group: CLI_GROUP },
        adapters: { sim: { type: 'sim', fleet: { climate: 1 }, reportIntervalMs: 200 } },
        routes: {
          local: {
            upstream: { type: 'mqtt', url: 'mqtt://127.0.0.1:1', password: 'x' },
            backoff: { initialMs: 1000, maxMs: 5000 },
          },
        },
      };
      await writeFile(
        path.join(etc, 'fieldgate.yaml'),
        stringify(config).replace('password: x', 'password: !secret broker'),
        { mode: 0o640 },
      );
      await writeFile(path.join(etc, 'secrets.yaml'), 'broker: not-for-cli-users\n', { mode: 0o640 });
      for (const file of ['fieldgate.yaml', 'secrets.yaml']) await chown(path.join(etc, file), 0, svcGid);

      daemon = spawn(
        '/usr/bin/setpriv',
        ['--reuid', SERVICE, '--regid', SERVICE, '--init-groups', '--', process.execPath, MAIN, 'run'],
        { env: { ...process.env, FIELDGATE_CONFIG: path.join(etc, 'fieldgate.yaml') } },
      );
      daemon.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      daemon.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      await waitFor(
        () => output.includes('fieldgate started.'),
        `daemon start\n${output}`,
        30_000,
        () => (daemon?.exitCode !== null ? `daemon exited early:\n${output}` : undefined),
      );
    });

    afterAll(async () => {
      if (daemon !== undefined && daemon.exitCode === null) {
        daemon.kill('SIGTERM');
        await new Promise((resolve) => daemon!.once('exit', resolve));
      }
      for (const user of [SERVICE, CLI_USER, OTHER_USER])
        await run('/usr/sbin/userdel', [user]).catch(() => undefined);
      await run('/usr/sbin/groupdel', [CLI_GROUP]).catch(() => undefined);
      for (const user of [SERVICE, CLI_USER, OTHER_USER])
        await run('/usr/sbin/groupdel', [user]).catch(() => undefined);
      if (root !== undefined) await rm(root, { recursive: true, force: true });
    });

    it('gives the socket and its directory to the CLI group, 0660 and 0750', async () => {
      const sock = await stat(socket);
      expect(sock.mode & 0o777).toBe(0o660);
      expect(sock.gid).toBe(cliGid);
      const dir = await stat(path.dirname(socket));
      expect(dir.mode & 0o777).toBe(0o750);
      expect(dir.gid).toBe(cliGid);
    });

    it('lets a member of the CLI group use the CLI', async () => {
      const result = await asUser(CLI_USER, [process.execPath, MAIN, 'status', '--json', '--socket', socket]);
      // The daemon answered (0 healthy, 1 answering but unhealthy: this one has no upstream); 69 = unreachable.
      expect([0, 1], result.stderr).toContain(result.code);
      expect((JSON.parse(result.stdout) as { gateway: string }).gateway).toBe('perms');
    });

    it('keeps the CLI user out of the config, the secrets and the state', async () => {
      for (const file of ['etc/secrets.yaml', 'etc/fieldgate.yaml', 'state']) {
        const read = await asUser(CLI_USER, ['/bin/ls', '-l', path.join(root, file)]);
        expect(read.code, `${file}: ${read.stdout}`).not.toBe(0);
        expect(read.stderr).toMatch(/Permission denied/);
      }
      const write = await asUser(CLI_USER, ['/usr/bin/touch', path.join(root, 'state', 'intruder')]);
      expect(write.code).not.toBe(0);
    });

    it('refuses a user outside the CLI group', async () => {
      const result = await asUser(OTHER_USER, [process.execPath, MAIN, 'status', '--socket', socket]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/EACCES|permission/i);
    });
  },
);
