import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_NAMES } from '../../../src/cli/init/render.js';
import { DEFAULT_CREDENTIALS_DIR } from '../../../src/config/credentials.js';

const UNIT = path.resolve('systemd/fieldgate.service');
const SYSUSERS = path.resolve('systemd/fieldgate.sysusers');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const SYSTEMD_SYSUSERS = '/usr/bin/systemd-sysusers';

/** `Key=value` lines of a unit, in order (repeated keys kept). */
const settings = (text: string, key: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('systemd/fieldgate.service', () => {
  it('is a notify unit that does not restart on a bad config', async () => {
    const text = await readFile(UNIT, 'utf8');
    expect(text).toMatch(/^Type=notify$/m);
    expect(text).toMatch(/^WatchdogSec=/m);
    expect(text).toMatch(/^RestartPreventExitStatus=78$/m);
    expect(text).toMatch(/^ExecReload=.*config validate/m);
    expect(text).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    // systemd rejects comments at the end of a setting line.
    expect(text.split('\n').filter((l) => /^[A-Za-z]+=.*\s#/.test(l))).toEqual([]);
  });

  // CI installs the systemd package (.ci/run); a developer machine without it skips, visibly.
  it.skipIf(!existsSync(SYSTEMD_ANALYZE))(
    'passes `systemd-analyze verify` (skipped: systemd-analyze not installed)',
    async () => {
      // verify checks that ExecStart's binary exists; point it at this node and this checkout's build.
      const unit = (await readFile(UNIT, 'utf8'))
        .replaceAll('/usr/bin/node', process.execPath)
        .replaceAll('/usr/lib/fieldgate', path.resolve('.'))
        .replaceAll('/usr/bin/fieldgate', `${process.execPath} ${path.resolve('dist/src/main.js')}`);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-unit-'));
      const file = path.join(dir, 'fieldgate.service');
      await writeFile(file, unit);
      const { stderr } = await promisify(execFile)(SYSTEMD_ANALYZE, ['verify', file]).catch(
        (e: { stderr: string; code: number }) => ({ stderr: `exit ${e.code}: ${e.stderr}` }),
      );
      // Lines about other units on this machine (or the missing user on a build box) are not ours to fix.
      const ours = stderr.split('\n').filter((l) => l.includes('fieldgate.service') && !/User|Group/.test(l));
      expect(ours).toEqual([]);
    },
  );

  it('loads every credential `fieldgate init` writes, and a missing one does not stop the service', async () => {
    const text = await readFile(UNIT, 'utf8');
    const names = Object.values(CREDENTIAL_NAMES);
    expect(settings(text, 'LoadCredential')).toEqual(
      names.map((name) => `${name}:${DEFAULT_CREDENTIALS_DIR}/${name}`),
    );
    // systemd fails the start when a LoadCredential= file is missing, unless SetCredential= gives a default
    // for the same name; the blank default is read as "missing" by the config loader.
    expect(settings(text, 'SetCredential')).toEqual(names.map((name) => `${name}:\\n`));
  });

  it('runs as fieldgate, in the CLI group too, and creates nothing for others', async () => {
    const text = await readFile(UNIT, 'utf8');
    expect(settings(text, 'User')).toEqual(['fieldgate']);
    expect(settings(text, 'Group')).toEqual(['fieldgate']);
    // The daemon gives /run/fieldgate and control.sock to fieldgate-cli: it must be a member.
    expect(settings(text, 'SupplementaryGroups').join(' ').split(/\s+/)).toContain('fieldgate-cli');
    expect(settings(text, 'RuntimeDirectoryMode')).toEqual(['0750']);
    expect(settings(text, 'StateDirectoryMode')).toEqual(['0750']);
    expect(settings(text, 'ConfigurationDirectoryMode')).toEqual(['0750']);
    // No bit for others, and no group write: state files 0640, the socket bound before its chmod r-x only.
    const umask = Number.parseInt(settings(text, 'UMask')[0] ?? '0', 8);
    expect(umask & 0o027).toBe(0o027);
  });
});

describe('systemd/fieldgate.sysusers', () => {
  // CI installs the systemd package; a machine without it skips, visibly.
  it.skipIf(!existsSync(SYSTEMD_SYSUSERS))(
    'creates the service group and a separate CLI group, with only the service user in fieldgate (skipped: systemd-sysusers not installed)',
    async () => {
      const root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-sysusers-'));
      try {
        await mkdir(path.join(root, 'etc'));
        await writeFile(path.join(root, 'etc/group'), 'root:x:0:\ndialout:x:20:\n');
        await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
        await promisify(execFile)(SYSTEMD_SYSUSERS, [`--root=${root}`, SYSUSERS]);
        const groups = new Map(
          (await readFile(path.join(root, 'etc/group'), 'utf8'))
            .trim()
            .split('\n')
            .map((line) => line.split(':'))
            .map(([name, , gid, members]) => [
              name!,
              { gid, members: members === '' ? [] : members!.split(',') },
            ]),
        );
        const user = (await readFile(path.join(root, 'etc/passwd'), 'utf8'))
          .split('\n')
          .find((l) => l.startsWith('fieldgate:'))
          ?.split(':');
        expect(user?.[3]).toBe(groups.get('fieldgate')?.gid);
        expect(groups.get('fieldgate')?.members).toEqual([]);
        expect(groups.get('fieldgate-cli')?.members).toEqual(['fieldgate']);
        expect(groups.get('fieldgate-cli')?.gid).not.toBe(groups.get('fieldgate')?.gid);
        expect(groups.get('dialout')?.members).toEqual(['fieldgate']);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  );
});
