import { cp, readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import type { StatusSnapshot } from '../../src/health/status.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';
import { seededFuzz } from './support/fuzz.js';

/** Nothing listens here: the writing daemon forwards nothing, so the copy holds every reading it kept. */
const DEAD_PORT = 1;
const SIM_ADAPTERS = 10;
/** Damaged copies per file kind (`.log`, `.ldb`), each cut at its own random offset. */
const TRUNCATIONS = Number(process.env.RELIABILITY_TRUNCATIONS ?? 2);

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
});

afterAll(async () => {
  await broker.close();
  await work.cleanup();
});

function config(stateDir: string, port: number, isFleetRunning: boolean) {
  const adapters = Object.fromEntries(
    Array.from({ length: SIM_ADAPTERS }, (_, i) => [
      `sim${i}`,
      {
        type: 'sim',
        enabled: isFleetRunning,
        fleet: { climate: 100, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: 0,
        batchSize: 100,
      },
    ]),
  );
  const base = testConfig(work.dir, port, { adapters, queue: { commitIntervalMs: 100 } });
  return { ...base, gateway: { id: 'it', stateDir } };
}

/** The newest file of a kind in a LevelDB directory (the live write-ahead log, the last table written). */
async function newest(dir: string, extension: string): Promise<string | undefined> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(extension));
  const sized = await Promise.all(
    names.map(async (name) => ({ name, size: (await stat(path.join(dir, name))).size })),
  );
  return sized
    .filter((f) => f.size > 0)
    .sort((a, b) => a.name.localeCompare(b.name))
    .at(-1)?.name;
}

interface Recovery {
  variant: string;
  outcome: 'opened' | 'repaired' | 'quarantined' | 'refused to start';
  why?: string;
  recovered: number;
  delivered: number;
  /** Distinct readings (device, per-device seq) among those delivered: below `delivered` is a double gseq. */
  distinctReadings: number;
  /** Status reads during the drain whose depth + acked + dropped was below `recovered` (see `recover`). */
  shortReads: { reads: number; short: number; lowest: number };
}

type RouteQueue = StatusSnapshot['routes'][number]['queue'];

/** Every reading the route held at start, as far as this status knows: stored, acknowledged or dropped. */
function accounted(queue: RouteQueue): number {
  return queue.depth + queue.acked + Object.values(queue.dropped).reduce((a, b) => a + b, 0);
}

/**
 * Starts a fresh daemon on a copied state dir, lets it drain to the broker and counts what arrives.
 *
 * What it found is counted once it has drained and gone quiet: with the fleet off nothing is appended, so
 * every reading it opened with is then acknowledged or dropped. Every status read while it drains, the
 * first included, must already show that many: a read that showed fewer is what made this scenario report
 * "50 more delivered than found" (a settle lowered `depth` an await before it raised `acked`; fixed in
 * `LevelQueue`, pinned by `test/unit/queue/level-queue-stats.test.ts`).
 */
async function recover(variant: string, stateDir: string): Promise<Recovery> {
  const cloud = await Subscriber.connect(broker.port);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(work.dir, config(stateDir, broker.port, false));
  } catch (e) {
    await cloud.close();
    const why = /^fieldgate: .*$/m.exec((e as Error).message)?.[0] ?? (e as Error).message.slice(0, 300);
    return {
      variant,
      outcome: 'refused to start',
      recovered: 0,
      delivered: 0,
      distinctReadings: 0,
      shortReads: { reads: 0, short: 0, lowest: 0 },
      why,
    };
  }
  try {
    const atStart = await daemon.status();
    const duringDrain = [accounted(atStart.routes[0]!.queue)];
    await waitFor(
      async () => {
        const { queue } = (await daemon.status()).routes[0]!;
        duringDrain.push(accounted(queue));
        return queue.depth === 0;
      },
      `${variant} to drain`,
      120_000,
    );
    let seen = -1;
    await waitFor(async () => {
      const settled = cloud.readings.length === seen;
      seen = cloud.readings.length;
      if (!settled) await new Promise((r) => setTimeout(r, 300));
      return settled;
    }, 'the last batch');
    const atEnd = (await daemon.status()).routes[0]!.queue;
    expect(atEnd.appended).toBe(0); // the fleet is off: all it holds, it found
    const recovered = accounted(atEnd);
    const outcome =
      atStart.storage.quarantine !== null
        ? 'quarantined'
        : /Queue database repaired/.test(daemon.output)
          ? 'repaired'
          : 'opened';
    if (outcome === 'quarantined') expect(atStart.problems.join('\n')).toMatch(/quarantined/);
    expect(daemon.process.exitCode).toBeNull();
    const short = duringDrain.filter((count) => count < recovered);
    return {
      variant,
      outcome,
      recovered,
      delivered: cloud.gseqs().size,
      distinctReadings: new Set(cloud.readings.map((r) => `${r.device}#${r.seq}`)).size,
      shortReads: { reads: duringDrain.length, short: short.length, lowest: Math.min(recovered, ...short) },
    };
  } finally {
    await daemon.stop();
    await cloud.close();
  }
}

let snapshot: string;
let committedBeforeCopy: number;
const fuzz = seededFuzz(11);

/** The "power cut": a running daemon's state dir copied file by file while it writes at full speed. */
beforeAll(async () => {
  const liveState = path.join(work.dir, 'live');
  const writer = await Daemon.start(work.dir, config(liveState, DEAD_PORT, true));
  snapshot = path.join(work.dir, 'snapshot');
  try {
    // Until LevelDB has flushed its log into a table at least once, so both file kinds can be cut.
    await waitFor(
      async () =>
        (await writer.status()).routes[0]!.queue.appended >= 20_000 &&
        (await newest(path.join(liveState, 'queue'), '.ldb')) !== undefined,
      '20,000 readings written and a table file flushed',
      120_000,
    );
    committedBeforeCopy = (await writer.status()).routes[0]!.queue.appended;
    await cp(liveState, snapshot, { recursive: true });
  } finally {
    await writer.kill9();
  }
}, 180_000);

/** Copies of the snapshot with the newest file of a kind cut at random offsets, each recovered. */
async function cutAndRecover(extension: string): Promise<Recovery[]> {
  const recoveries: Recovery[] = [];
  for (let n = 0; n < TRUNCATIONS; n++) {
    const stateDir = await copyOf(snapshot, `cut${extension}-${n}`);
    const queueDir = path.join(stateDir, 'queue');
    const file = (await newest(queueDir, extension))!;
    const { size } = await stat(path.join(queueDir, file));
    const offset = fuzz.int(0, size - 1);
    await truncate(path.join(queueDir, file), offset);
    recoveries.push(await recover(`${file} cut at ${offset} of ${size} bytes`, stateDir));
  }
  return recoveries;
}

/** Refused to start, lost or invented a reading, sent one under two gseqs, or miscounted while draining. */
function isIncomplete(r: Recovery): boolean {
  return (
    r.outcome === 'refused to start' ||
    r.delivered !== r.recovered ||
    r.distinctReadings !== r.delivered ||
    r.shortReads.short > 0
  );
}

function report(recoveries: Recovery[]): void {
  console.log(
    `power cut (seed ${fuzz.seed}): ${committedBeforeCopy} readings committed when the copy began\n` +
      recoveries
        .map(
          (r) =>
            `  ${r.variant}: ${r.outcome}, ${r.recovered} readings survived, ${r.delivered} delivered` +
            ` (${r.distinctReadings} distinct readings)` +
            (r.shortReads.short === 0
              ? ''
              : `; ${r.shortReads.short} of ${r.shortReads.reads} status reads while draining were short` +
                ` (lowest ${r.shortReads.lowest})`) +
            (r.why === undefined ? '' : ` (${r.why})`),
        )
        .join('\n'),
  );
}

it('recovers a queue copied mid-write, and with its log cut short, delivering all that survived', async () => {
  const recoveries = [
    await recover('mid-write copy', await copyOf(snapshot, 'as-copied')),
    ...(await cutAndRecover('.log')),
  ];
  report(recoveries);
  expect(recoveries.filter(isIncomplete)).toEqual([]);
  // A copy taken while writing holds at least what was committed before it began (files only grow).
  expect(recoveries[0]!.recovered).toBeGreaterThanOrEqual(committedBeforeCopy);
});

it('starts on a queue whose newest table file was cut short (repairs or quarantines), delivering what survived', async () => {
  const recoveries = await cutAndRecover('.ldb');
  report(recoveries);
  expect(recoveries.filter(isIncomplete)).toEqual([]);
});

async function copyOf(snapshot: string, name: string): Promise<string> {
  const dir = path.join(work.dir, name);
  await cp(snapshot, dir, { recursive: true });
  return dir;
}
