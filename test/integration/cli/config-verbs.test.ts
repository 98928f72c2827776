import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { makeWorkdir, runCli, testConfig } from '../support/daemon.js';

/** `config show` and `config validate` find the file the same ways: argument, --config, FIELDGATE_CONFIG. */
describe('config show and config validate take the same file options', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let file: string;
  const env = (extra: NodeJS.ProcessEnv = {}) => {
    const { FIELDGATE_CONFIG: _ignored, ...rest } = process.env;
    return { ...rest, ...extra };
  };

  beforeAll(async () => {
    work = await makeWorkdir();
    file = path.join(work.dir, 'mine.yaml');
    await writeFile(file, stringify({ ...testConfig(work.dir, 1883), gateway: { id: 'from-my-file' } }));
  });

  afterAll(async () => work.cleanup());

  it.each([
    ['FIELDGATE_CONFIG', [], { FIELDGATE_CONFIG: 'FILE' }],
    ['an argument', ['FILE'], {}],
    ['--config', ['--config', 'FILE'], {}],
    ['-c', ['-c', 'FILE'], {}],
  ])('config show and validate read the file named by %s', async (_how, args, extra) => {
    const withFile = (list: string[]) => list.map((a) => (a === 'FILE' ? file : a));
    const extraEnv = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === 'FILE' ? file : v]));
    const show = await runCli(['config', 'show', ...withFile(args)], env(extraEnv));
    expect(show.stderr).toBe('');
    expect(show.stdout).toContain('from-my-file');
    expect(show.code).toBe(0);
    const validate = await runCli(['config', 'validate', ...withFile(args)], env(extraEnv));
    expect(validate.stdout).toBe(`${file}: ok\n`);
    expect(validate.code).toBe(0);
  });

  it('two different files named at once are a usage error', async () => {
    const both = await runCli(['config', 'show', file, '--config', `${file}.other`], env());
    expect(both.stderr).toContain('give one');
    expect(both.code).toBe(2);
  });
});
