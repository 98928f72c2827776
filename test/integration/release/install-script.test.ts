import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const INSTALL = path.resolve('systemd/install.sh');

/** Runs install.sh from this checkout (a checkout is a release once `dist/` is built). */
async function install(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('bash', [INSTALL, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('systemd/install.sh options', () => {
  let prefix: string | undefined;
  afterEach(async () => {
    if (prefix !== undefined) await rm(prefix, { recursive: true, force: true });
    prefix = undefined;
  });

  it('--dry-run --prefix names the paths it would write and writes nothing', async () => {
    prefix = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-prefix-'));
    const result = await install(['--dry-run', '--prefix', prefix]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`to ${prefix}/lib/fieldgate`);
    expect(result.stdout).toContain(`${prefix}/bin/fieldgate`);
    expect(existsSync(path.join(prefix, 'lib'))).toBe(false);
    expect(existsSync(path.join(prefix, 'bin'))).toBe(false);
  });

  it('refuses a relative prefix, --purge without --uninstall and an unknown option', async () => {
    expect((await install(['--prefix', 'opt'])).stderr).toContain('absolute path');
    expect((await install(['--purge'])).code).toBe(2);
    expect((await install(['--bogus'])).stderr).toContain('unknown option --bogus');
  });

  it('--rollback without a previous version says so and exits 1', async () => {
    prefix = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-prefix-'));
    const result = await install(['--rollback', '--prefix', prefix]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no previous version');
  });

  it.skipIf(!isRoot)(
    '--rollback swaps in the previous version, and a second one undoes it (root only)',
    async () => {
      prefix = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-prefix-'));
      const libdir = path.join(prefix, 'lib/fieldgate');
      for (const [dir, version] of [
        [libdir, '0.2.0'],
        [`${libdir}.previous`, '0.1.0'],
      ] as const) {
        await mkdir(path.join(dir, 'dist/src'), { recursive: true });
        await writeFile(path.join(dir, 'package.json'), JSON.stringify({ version }));
      }
      const first = await install(['--rollback', '--prefix', prefix]);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('rolled back to 0.1.0');
      expect(JSON.parse(await readFile(path.join(libdir, 'package.json'), 'utf8'))).toEqual({
        version: '0.1.0',
      });
      const second = await install(['--rollback', '--prefix', prefix]);
      expect(second.stdout).toContain('rolled back to 0.2.0');
    },
  );
});
