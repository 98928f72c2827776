import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const hasFile = await run('file', ['--version']).then(
  () => true,
  () => false,
);

/** Every file under `dir` whose name ends in `.node`, relative to `dir`. */
async function nativeAddons(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.node'))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/**
 * `npm run package -- --arch arm64` on this (x64) machine: a Pi must get aarch64 addons it can load without a
 * compiler. Uses the `dist/` that `npm test` has just built. Skipped, visibly, without the `file` command.
 */
describe.skipIf(!hasFile)(
  'the linux-arm64 release (skipped: needs the `file` command, apt install file)',
  () => {
    let out: string | undefined;
    afterAll(async () => {
      if (out !== undefined) await rm(out, { recursive: true, force: true });
    });

    it('holds only aarch64 native addons: LevelDB, serial ports and USB prebuilt, the HCI socket left out', async () => {
      out = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-release-'));
      const { stdout } = await run(
        'bash',
        ['systemd/package.sh', '--arch', 'arm64', '--no-deb', '--out', out],
        {
          env: { ...process.env, FIELDGATE_PACKAGE_SKIP_BUILD: '1' },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const tarball = path.join(out, `fieldgate-${version}-linux-arm64.tar.gz`);
      expect(stdout.trim().split('\n')).toContain(tarball);
      await run('tar', ['-C', out, '-xzf', tarball]);
      const tree = path.join(out, `fieldgate-${version}-linux-arm64`);

      const addons = await nativeAddons(tree);
      const kinds = await Promise.all(
        addons.map(
          async (addon) => `${addon}: ${(await run('file', ['-b', path.join(tree, addon)])).stdout.trim()}`,
        ),
      );
      expect(kinds.filter((k) => !/ELF 64-bit LSB .*ARM aarch64/.test(k))).toEqual([]);
      for (const pkg of ['classic-level', '@serialport/bindings-cpp', 'usb'])
        expect(addons.some((a) => a.startsWith(`node_modules/${pkg}/prebuilds/linux-arm64/`))).toBe(true);
      // No other platform's prebuilt binaries, and no addon compiled here for this machine.
      expect(
        addons.filter((a) => a.includes('/prebuilds/') && !a.includes('/prebuilds/linux-arm64/')),
      ).toEqual([]);
      expect(addons.filter((a) => a.includes('bluetooth-hci-socket'))).toEqual([]);
      // Dev dependencies are gone; the daemon is there.
      const modules = await readdir(path.join(tree, 'node_modules'));
      expect(modules).not.toContain('vitest');
      expect(modules).toContain('classic-level');
      expect(await readdir(path.join(tree, 'dist/src'))).toContain('main.js');
      // The status page's files, and uPlot's, which the daemon reads at start (nothing from a CDN).
      expect(await readdir(path.join(tree, 'web'))).toEqual(expect.arrayContaining(['index.html', 'app.js']));
      expect(await readdir(path.join(tree, 'node_modules/uplot/dist'))).toContain('uPlot.iife.min.js');
    }, 600_000);
  },
);
