import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeWorkdir, runCli } from './support/daemon.js';

describe('a bad config stops the daemon with exit 78 and says where', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  beforeEach(async () => {
    work = await makeWorkdir();
  });
  afterEach(() => work.cleanup());

  it('reports every error with file:line:col and exits 78', async () => {
    const file = path.join(work.dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'gateway:',
        '  id: test',
        'queue:',
        '  commitIntervalMs: -5',
        '  overflow: dropSome',
        'routes:',
        '  local:',
        '    upstream: { type: mqtt, url: "http://x" }',
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli(['run', '--config', file]);
    expect(code).toBe(78);
    expect(stderr).toContain(`${file}:4:21: queue.commitIntervalMs:`);
    expect(stderr).toContain(`${file}:5:13: queue.overflow:`);
    expect(stderr).toMatch(new RegExp(`${file}:8:\\d+: routes.local.upstream.url:`));
  });

  it('names a missing secret and where it was asked for', async () => {
    const file = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(
      file,
      [
        'routes:',
        '  local:',
        '    upstream:',
        '      type: mqtt',
        '      url: mqtt://127.0.0.1:1',
        '      password: !secret broker_password',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(work.dir, 'secrets.yaml'), 'other: x\n', { mode: 0o600 });
    const { code, stderr } = await runCli(['run', '--config', file]);
    expect(code).toBe(78);
    expect(stderr).toContain(`${file}:6:`);
    expect(stderr).toContain('broker_password');
  });

  it('config validate exits 0 on the quick-start config', async () => {
    const { code, stdout } = await runCli(['config', 'validate', 'config/demo.yaml']);
    expect(code).toBe(0);
    expect(stdout).toContain('config/demo.yaml: ok');
  });
});
