import { readdir, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
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

/** Polls `probe` until it returns a value, like `waitFor`. */
async function waitForValue<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs: number,
  abortIf?: () => string | undefined,
): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await probe()) !== undefined, what, timeoutMs, abortIf);
  return value as T;
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

// With 2 MiB left the write that fails is a log append; with 6 MiB it tends to be a table flush, which
// LevelDB keeps as a sticky error (writes resume only after reopening: the daemon exits 75).
it.for([2, 6])(
  'survives a filesystem that really fills (ENOSPC, %i MiB left), says so, and delivers what it committed',
  async (leftMiB, ctx) => {
    if ('refused' in fs) return ctx.skip();
    const stateDir = path.join(fs.dir, `enospc-${leftMiB}`);
    // No quota and no free-space guard: nothing stops the writes before the filesystem does.
    const queue = { maxBytes: 1024 * MiB, minFreeBytes: 0, overflow: 'dropOldest' };
    const filler = path.join(fs.dir, 'filler');
    const { bavail, bsize } = await statfs(fs.dir);
    // The quota tests above used some of the filesystem; leave `leftMiB` of the rest for this queue.
    await writeFile(filler, Buffer.alloc(Math.max(0, bavail * bsize - leftMiB * MiB)));
    const cfg = config(stateDir, DEAD_PORT, queue, true);
    const daemon = await Daemon.start(work.dir, cfg);
    let final: StatusSnapshot;
    let howResumed: string;
    try {
      const whileFull = await waitForValue(
        async () => {
          if (daemon.process.exitCode !== null) return undefined; // abortIf says why
          const status = await daemon.status();
          return routeOf(status).dropped.writeFailed > 0 ? status : undefined;
        },
        'writes to fail on the full filesystem',
        120_000,
        () =>
          daemon.process.exitCode !== null ? `daemon exited:\n${daemon.output.slice(-3000)}` : undefined,
      );
      expect(daemon.process.exitCode).toBeNull();
      expect(whileFull.storage.writes.state).toBe('failing');
      expect(whileFull.problems.join('\n')).toMatch(
        /queue writes are failing since .*No space left on device/,
      );
      // Space comes back. Writes resume once the store has rolled LevelDB's log past the failed write; if
      // LevelDB kept the failure (a failed table flush is sticky until it is reopened) the daemon exits 75 for
      // systemd to restart it. Either is fine; silently storing after a torn log record is not.
      await writeFile(filler, '');
      const appendedWhileFull = routeOf(whileFull).appended;
      howResumed = await waitForValue(
        async () => {
          if (daemon.process.exitCode !== null) return `exited ${daemon.process.exitCode} to be restarted`;
          // A daemon on its way out has closed its control socket already.
          const status = await daemon.status().catch(() => undefined);
          if (status === undefined) return undefined;
          return routeOf(status).appended > appendedWhileFull + 1000 ? 'resumed in place' : undefined;
        },
        'writes to resume (or the daemon to exit for a restart) after space was freed',
        60_000,
      );
      if (howResumed.startsWith('exited')) {
        expect(daemon.process.exitCode).toBe(75);
        final = whileFull;
      } else {
        final = await quiesce(daemon, cfg);
        expect(final.storage.writes.state).toBe('ok');
      }
      console.log(
        `disk pressure, ENOSPC with ${leftMiB} MiB left: while full the daemon ran on (problems=${JSON.stringify(whileFull.problems)}); ` +
          `after space came back: ${howResumed}`,
      );
    } finally {
      await daemon.stop();
    }
    const { gseqs, drained, output } = await drain(stateDir, queue);
    console.log(
      `disk pressure, ENOSPC with ${leftMiB} MiB left: ${routeOf(final).appended} readings committed, ` +
        `${routeOf(final).dropped.writeFailed} dropped as writeFailed, ` +
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
    // Every reading whose commit succeeded arrives (none was evicted: no quota); those refused were counted
    // as writeFailed and never reported stored.
    const { quota, diskFull } = routeOf(final).dropped;
    expect(quota + diskFull).toBe(0);
    expect(gseqs.size).toBeGreaterThanOrEqual(routeOf(final).appended);
  },
);

it('refuses to start on a full filesystem without moving the queue aside, and delivers it once there is room', async (ctx) => {
  if ('refused' in fs) return ctx.skip();
  const stateDir = path.join(fs.dir, 'full-at-start');
  const queue = { maxBytes: 1024 * MiB, minFreeBytes: 0, overflow: 'dropOldest' };
  const cfg = config(stateDir, DEAD_PORT, queue, true);
  const first = await Daemon.start(work.dir, cfg);
  await waitFor(async () => routeOf(await first.status()).appended >= 3000, 'a backlog', 60_000);
  const committed = routeOf(await first.status()).appended;
  // Killed: its log is not turned into a table, so the next open must write one.
  await first.kill9();

  const filler = path.join(fs.dir, 'filler');
  const { bavail, bsize } = await statfs(fs.dir);
  await writeFile(filler, Buffer.alloc(bavail * bsize));
  const refused = await runCli(['run', '--config', first.configFile]);
  await writeFile(filler, '');
  const queueDirs = (await readdir(stateDir)).filter((name) => name.startsWith('queue'));
  console.log(
    `disk pressure, full at start: exit ${refused.code}; "${/fieldgate: .*/.exec(refused.stderr)?.[0]}"; state dir: ${queueDirs.join(', ')}`,
  );
  expect(refused.code).toBe(75);
  expect(refused.stderr).toMatch(
    /is full: the queue database needs room to open\. Nothing was moved or deleted/,
  );
  expect(queueDirs).toEqual(['queue']);

  const { gseqs } = await drain(stateDir, queue);
  console.log(
    `disk pressure, full at start: ${committed}+ committed before the kill, ${gseqs.size} delivered once there was room`,
  );
  expect(gseqs.size).toBeGreaterThanOrEqual(committed);
});
