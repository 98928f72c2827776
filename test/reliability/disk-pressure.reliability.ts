import { statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../src/emulator/mqtt/broker.js';
import type { StatusSnapshot } from '../../src/health/status.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, runCli, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';
import { highest } from './support/highest.js';
import { mountSmallFilesystem, type SmallFilesystem } from './support/small-filesystem.js';

const MiB = 1024 ** 2;
/** Nothing listens here: the upstream is down for the whole first life, so everything queues. */
const DEAD_PORT = 1;
const SIM_ADAPTERS = 4;
const QUOTA_BYTES = 1 * MiB;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let fs: SmallFilesystem | { refused: string };

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  fs = await mountSmallFilesystem(24 * MiB);
  if ('refused' in fs) console.log(`disk pressure: SKIPPED, ${fs.refused}`);
});

afterAll(async () => {
  if (!('refused' in fs)) await fs.unmount();
  await broker.close();
  await work.cleanup();
});

function config(stateDir: string, port: number, queue: Record<string, unknown>, isFleetRunning: boolean) {
  const adapters = Object.fromEntries(
    Array.from({ length: SIM_ADAPTERS }, (_, i) => [
      `sim${i}`,
      {
        type: 'sim',
        enabled: isFleetRunning,
        fleet: { climate: 50, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: 0,
        batchSize: 100,
      },
    ]),
  );
  const base = testConfig(work.dir, port, { adapters, queue: { commitIntervalMs: 100, ...queue } });
  return { ...base, gateway: { id: 'it', stateDir } };
}

const routeOf = (status: StatusSnapshot) => status.routes[0]!.queue;
const totalDropped = (status: StatusSnapshot) =>
  Object.values(routeOf(status).dropped).reduce((sum, n) => sum + n, 0);

/**
 * Stops new readings without stopping the daemon: a SIGHUP with a filter that excludes every adapter. The
 * counters are final once `appended` no longer moves, so what was dropped is known exactly.
 */
async function quiesce(daemon: Daemon, cfg: ReturnType<typeof config>): Promise<StatusSnapshot> {
  const filtered = { ...cfg, pipeline: { filter: { exclude: { adapters: ['*'] } } } };
  await writeFile(daemon.configFile, stringify(filtered));
  daemon.process.kill('SIGHUP');
  await waitFor(
    async () => (await daemon.status()).reload?.applied.includes('pipeline.filter') === true,
    'the reload',
  );
  let last = -1;
  let status = await daemon.status();
  await waitFor(async () => {
    status = await daemon.status();
    const settled = routeOf(status).appended === last;
    last = routeOf(status).appended;
    if (!settled) await new Promise((r) => setTimeout(r, 500));
    return settled;
  }, 'appends to stop');
  return status;
}

/** A second life with the fleet off and the broker reachable: drains what the first left, then stops. */
async function drain(stateDir: string, queue: Record<string, unknown>) {
  const cloud = await Subscriber.connect(broker.port);
  const daemon = await Daemon.start(work.dir, config(stateDir, broker.port, queue, false));
  try {
    await waitFor(async () => routeOf(await daemon.status()).depth === 0, 'the drain', 120_000);
    // Acked by the broker is not yet received by the subscriber: wait until its count holds still.
    let seen = -1;
    await waitFor(async () => {
      const settled = cloud.readings.length === seen;
      seen = cloud.readings.length;
      if (!settled) await new Promise((r) => setTimeout(r, 300));
      return settled;
    }, 'the last batch');
    const drained = routeOf(await daemon.status());
    return { gseqs: cloud.gseqs(), output: daemon.output, drained };
  } finally {
    await daemon.stop();
    await cloud.close();
  }
}

for (const overflow of ['dropOldest', 'dropNewest', 'block'] as const) {
  it(`applies ${overflow} at the byte quota, shows drops in status --json, and loses nothing it kept`, async (ctx) => {
    if ('refused' in fs) return ctx.skip();
    const stateDir = path.join(fs.dir, overflow);
    const queue = { maxBytes: QUOTA_BYTES, minFreeBytes: 0, overflow };
    const cfg = config(stateDir, DEAD_PORT, queue, true);
    const daemon = await Daemon.start(work.dir, cfg);
    let final: StatusSnapshot;
    let cliStatus: StatusSnapshot;
    try {
      if (overflow === 'block') {
        // Appends wait for room: the quota fills and appends stall, without drops.
        await waitFor(
          async () => (await daemon.status()).storage.bytes >= 0.9 * QUOTA_BYTES,
          'the quota to fill',
          120_000,
        );
      } else {
        await waitFor(
          async () => routeOf(await daemon.status()).dropped.quota >= 5000,
          '5000 quota drops',
          120_000,
        );
      }
      final = await quiesce(daemon, cfg);
      const cli = await runCli(['status', '--json', '--config', daemon.configFile]);
      cliStatus = JSON.parse(cli.stdout) as StatusSnapshot;
      expect(daemon.process.exitCode).toBeNull();
    } finally {
      await daemon.stop();
    }
    const { gseqs } = await drain(stateDir, queue);
    // One life numbered from 1: every number up to the highest that did not arrive was dropped (or lost).
    const missing = highest(gseqs) - gseqs.size;
    const dropped = totalDropped(final);
    console.log(
      `disk pressure, ${overflow}: ${routeOf(final).appended} readings stored, ${dropped} dropped ` +
        `(status --json: ${JSON.stringify(routeOf(cliStatus).dropped)}), ${gseqs.size} delivered after restart, ` +
        `${missing} numbers missing, storage ${final.storage.bytes} bytes of a ${QUOTA_BYTES} quota`,
    );
    expect(routeOf(cliStatus).dropped.quota).toBe(routeOf(final).dropped.quota);
    if (overflow === 'block') expect(dropped).toBe(0);
    else expect(cliStatus.problems.join('\n')).toMatch(/dropped \d+ readings/);
    // Evicted readings had numbers; refused ones (dropNewest, block) never got one.
    if (overflow === 'dropOldest') expect(missing).toBeLessThanOrEqual(routeOf(final).dropped.quota);
    else expect(missing).toBe(0);
    expect(gseqs.size).toBe(routeOf(final).appended - (overflow === 'dropOldest' ? missing : 0));
  });
}

it('survives a filesystem that really fills (ENOSPC), says so, and delivers what it committed', async (ctx) => {
  if ('refused' in fs) return ctx.skip();
  const stateDir = path.join(fs.dir, 'enospc');
  // No quota and no free-space guard: nothing stops the writes before the filesystem does.
  const queue = { maxBytes: 1024 * MiB, minFreeBytes: 0, overflow: 'dropOldest' };
  const filler = path.join(fs.dir, 'filler');
  const { bavail, bsize } = await statfs(fs.dir);
  // Leave two MiB for the queue of this test; the quota tests above used some of the rest.
  await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - 2 * MiB)));
  const cfg = config(stateDir, DEAD_PORT, queue, true);
  const daemon = await Daemon.start(work.dir, cfg);
  let final: StatusSnapshot;
  try {
    await waitFor(
      () => /No space left on device/.test(daemon.output),
      'the daemon to notice the full filesystem',
      120_000,
      () => (daemon.process.exitCode !== null ? `daemon exited:\n${daemon.output.slice(-3000)}` : undefined),
    );
    const whileFull = await daemon.status();
    expect(daemon.process.exitCode).toBeNull();
    // Space comes back. LevelDB keeps a failed write as a sticky error, so whether appends resume without
    // a restart is reported here rather than asserted (see the reliability note).
    await writeFile(filler, '');
    const appendedWhileFull = routeOf(whileFull).appended;
    const resumed = await waitFor(
      async () => routeOf(await daemon.status()).appended > appendedWhileFull + 1000,
      'appends to resume after space was freed',
      10_000,
    ).then(
      () => true,
      () => false,
    );
    final = await quiesce(daemon, cfg);
    console.log(
      `disk pressure, ENOSPC: while full the daemon ran on (healthy=${whileFull.healthy}, ` +
        `problems=${JSON.stringify(whileFull.problems)}), logged "${/No space left on device/.exec(daemon.output)?.[0]}"; ` +
        `appends ${resumed ? 'resumed' : 'did NOT resume'} within 10 s of space coming back`,
    );
    expect(daemon.process.exitCode).toBeNull();
  } finally {
    await daemon.stop();
  }
  const { gseqs, drained, output } = await drain(stateDir, queue);
  console.log(
    `disk pressure, ENOSPC: ${routeOf(final).appended} readings committed, ${totalDropped(final)} dropped, ` +
      `${gseqs.size} delivered after restart (restart: ${drained.acked} acked, dropped ${JSON.stringify(drained.dropped)})`,
  );
  if (gseqs.size < routeOf(final).appended)
    console.log(
      output
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l))
        .slice(0, 10)
        .join('\n'),
    );
  expect(gseqs.size).toBeGreaterThanOrEqual(routeOf(final).appended - totalDropped(final));
});
