import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MAX_LISTED_ISSUES } from '../../../src/cli/config.js';
import { makeWorkdir, runCli } from '../support/daemon.js';

const UNKNOWN_KEYS = 120;

let work: Awaited<ReturnType<typeof makeWorkdir>>;

beforeEach(async () => {
  work = await makeWorkdir();
});

afterEach(() => work.cleanup());

it('fieldgate run on a mangled config lists the first issues, counts the rest and names the command for all', async () => {
  const file = path.join(work.dir, 'mangled.yaml');
  await writeFile(file, Array.from({ length: UNKNOWN_KEYS }, (_, n) => `unknownKey${n}: ${n}\n`).join(''));

  const { code, stderr } = await runCli(['run', '--config', file]);

  expect(code).toBe(78);
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(MAX_LISTED_ISSUES + 1);
  expect(lines.slice(0, -1).every((line) => line.startsWith(`${file}:`))).toBe(true);
  expect(lines[0]).toMatch(new RegExp(`^${file}:1:1: `));
  // At least the 120 unknown keys (the missing required sections are issues too).
  const more = Number(/…and (\d+) more issues/.exec(lines.at(-1)!)?.[1]);
  expect(more).toBeGreaterThanOrEqual(UNKNOWN_KEYS - MAX_LISTED_ISSUES);
  expect(lines.at(-1)).toBe(
    `${file}: …and ${more} more issues; run \`fieldgate config validate --json ${file}\` for all`,
  );

  // The command it names lists every issue.
  const all = await runCli(['config', 'validate', '--json', file]);
  expect(all.code).toBe(78);
  expect((JSON.parse(all.stdout) as { errors: unknown[] }).errors).toHaveLength(MAX_LISTED_ISSUES + more);
});

it('fieldgate run on a config with a few issues lists them all, with no count line', async () => {
  const file = path.join(work.dir, 'few.yaml');
  await writeFile(file, 'unknownKey1: 1\nunknownKey2: 2\n');

  const { code, stderr } = await runCli(['run', '--config', file]);

  expect(code).toBe(78);
  const lines = stderr.trimEnd().split('\n');
  expect(lines.length).toBeLessThan(MAX_LISTED_ISSUES);
  expect(lines.every((line) => line.startsWith(`${file}:`))).toBe(true);
  expect(stderr).toContain('unknownKey2');
  expect(stderr).not.toContain('more issues');
});
