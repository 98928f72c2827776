import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import type { StatusSnapshot } from '../../src/health/status.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';
import { fillQueue, needsRoot, routeOf, SERVICE_USER, serviceLayout } from './support/storage-scenario.js';

const run = promisify(execFile);
const READINGS = Number(process.env.RELIABILITY_READ_ONLY_READINGS ?? 5000);
/** How long the daemon is left on the read-only mount: several of its 5-second retries. */
const READ_ONLY_MS = Number(process.env.RELIABILITY_READ_ONLY_SECONDS ?? 12) * 1000;
const DEAD_PORT = 1;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
const skipped = needsRoot();
let mounted: string | undefined;

beforeAll(async () => {
  if (skipped !== undefined) return console.log(`read-only storage: SKIPPED, ${skipped}`);
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
});

afterAll(async () => {
  if (mounted !== undefined) await run('umount', ['-l', mounted]).catch(() => undefined);
  await broker?.close();
  await work?.cleanup();
});

it('stays up on a read-only state dir, says so in status, and delivers every committed reading once it is read-write again', async (ctx) => {
  if (skipped !== undefined) return ctx.skip();
  const { stateDir, queueDir, config } = await serviceLayout(work.dir);
  const committed = await fillQueue(work.dir, config(DEAD_PORT, true), READINGS, SERVICE_USER);
  const filesBefore = (await readdir(queueDir)).sort();

  // A read-only bind mount of the state dir over itself, as a remount after an fs error would leave it.
  try {
    await run('mount', ['--bind', stateDir, stateDir]);
    mounted = stateDir;
    await run('mount', ['-o', 'remount,bind,ro', stateDir]);
  } catch (e) {
    return ctx.skip(`cannot bind-mount read-only: ${(e as Error).message.split('\n')[0]}`);
  }

  const cloud = await Subscriber.connect(broker.port);
  const cfg = config(broker.port, false);
  const file = path.join(work.dir, 'fieldgate.yaml');
  await writeFile(file, stringify(cfg));
  const daemon = new Daemon(file, cfg.control.socket, { user: SERVICE_USER });
  try {
    let whileReadOnly: StatusSnapshot | undefined;
    await waitFor(
      async () => {
        whileReadOnly = await daemon.status().catch(() => undefined);
        return whileReadOnly !== undefined;
      },
      'the control socket on a read-only state dir',
      30_000,
      () =>
        daemon.process.exitCode !== null
          ? `daemon exited ${daemon.process.exitCode}:\n${daemon.output}`
          : undefined,
    );
    await new Promise((r) => setTimeout(r, READ_ONLY_MS));
    const later = await daemon.status();
    const episodes = daemon.output.split('\n').filter((l) => /Queue storage is unavailable/.test(l)).length;
    console.log(
      `read-only storage: after ${READ_ONLY_MS} ms the daemon runs (exit ${daemon.process.exitCode}); healthy=${later.healthy}; ` +
        `problems=${JSON.stringify(later.problems)}; ${episodes} ERROR line(s) for the episode`,
    );
    expect(daemon.process.exitCode).toBeNull();
    expect(later.healthy).toBe(false);
    expect(later.storage.unavailable).toMatch(/read-only filesystem at .*\/state\/queue/);
    expect(later.problems.join('\n')).toMatch(/queue storage unavailable: read-only filesystem/);
    expect(episodes).toBe(1);

    await run('mount', ['-o', 'remount,bind,rw', stateDir]);
    await waitFor(() => daemon.output.includes('fieldgate started.'), 'the start once read-write', 30_000);
    await waitFor(async () => routeOf(await daemon.status()).depth === 0, 'the drain', 120_000);
    let seen = -1;
    await waitFor(async () => {
      const settled = cloud.readings.length === seen;
      seen = cloud.readings.length;
      if (!settled) await new Promise((r) => setTimeout(r, 300));
      return settled;
    }, 'the last batch');
    const resumed = await daemon.status();
    const gseqs = cloud.gseqs();
    console.log(
      `read-only storage: ${committed}+ committed before, ${gseqs.size} delivered after remount rw; healthy=${resumed.healthy}`,
    );
    expect(resumed.storage.unavailable).toBeNull();
    expect(resumed.storage.repair).toBeNull();
    expect(gseqs.size).toBeGreaterThanOrEqual(committed);
  } finally {
    await daemon.stop();
    await cloud.close();
  }
  // The database was neither moved nor repaired.
  expect(await readdir(stateDir)).not.toContainEqual(expect.stringMatching(/corrupt|repair/));
  expect(await readdir(queueDir)).not.toContain('lost');
  expect(filesBefore.length).toBeGreaterThan(0);
});
