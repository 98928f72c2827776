import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const UNIT = path.resolve('systemd/fieldgate.service');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

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
});
