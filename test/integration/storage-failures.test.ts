import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from './support/daemon.js';

// A port nothing listens on: the upstream stays down for the whole test.
const DEAD_PORT = 1;

describe('storage limits and damage (real daemon, real LevelDB)', () => {
  let work: Awaited<ReturnType<typeof makeWorkdir>>;
  let daemon: Daemon | undefined;

  beforeEach(async () => {
    work = await makeWorkdir();
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await work.cleanup();
  });

  it('applies dropOldest at the byte quota, counts the drops, shows them in status and keeps running', async () => {
    const config = testConfig(work.dir, DEAD_PORT, {
      queue: { commitIntervalMs: 20, maxBytes: 40_000, overflow: 'dropOldest' },
    });
    (config.adapters.sim as { reportIntervalMs: number }).reportIntervalMs = 5;
    daemon = await Daemon.start(work.dir, config);

    await waitFor(async () => (await daemon!.status()).routes[0]!.queue.dropped.quota > 0, 'quota drops');
    const status = await daemon.status();
    expect(status.storage.bytes).toBeLessThanOrEqual(40_000 * 1.1);
    expect(status.healthy).toBe(false);
    expect(status.problems.join('\n')).toMatch(/dropped \d+ readings/);
    // Still alive and still accepting readings.
    const appended = status.routes[0]!.queue.appended;
    await waitFor(async () => (await daemon!.status()).routes[0]!.queue.appended > appended, 'more readings');
    expect(daemon.process.exitCode).toBeNull();
  });

  it('repairs a queue database with a damaged manifest on a copy, keeps the original and says so in status', async () => {
    const queueDir = path.join(work.dir, 'state', 'queue');
    await mkdir(queueDir, { recursive: true });
    await writeFile(path.join(queueDir, 'CURRENT'), 'MANIFEST-000042\n');
    await writeFile(path.join(queueDir, 'MANIFEST-000042'), Buffer.alloc(4096, 0xab));

    daemon = await Daemon.start(work.dir, testConfig(work.dir, DEAD_PORT));
    expect(daemon.output).toMatch(/Queue database repaired/);
    const status = await daemon.status();
    expect(status.healthy).toBe(false);
    expect(status.storage.repair?.keptPath).toContain('queue.before-repair-');
    expect(status.problems.join('\n')).toMatch(/repaired after corruption.*kept at .*queue\.before-repair-/);
    expect(await readdir(status.storage.repair!.keptPath)).toContain('MANIFEST-000042');
    await waitFor(
      async () => (await daemon!.status()).routes[0]!.queue.depth > 0,
      'readings stored after repair',
    );
  });

  it('refuses to start, moving nothing, when the queue path is a file (exit 78)', async () => {
    await mkdir(path.join(work.dir, 'state'), { recursive: true });
    await writeFile(path.join(work.dir, 'state', 'queue'), 'not a database');
    const config = path.join(work.dir, 'fieldgate.yaml');
    await writeFile(config, stringify(testConfig(work.dir, DEAD_PORT)));

    const refused = await runCli(['run', '--config', config]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(
      /must be a directory holding the queue database.*Nothing was moved or repaired/,
    );
    expect(await readdir(path.join(work.dir, 'state'))).toEqual(['queue']);
  });
});
