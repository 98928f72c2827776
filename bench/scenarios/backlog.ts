import path from 'node:path';
import { silentLogger } from '../../src/logger.js';
import { LevelQueueStore } from '../../src/queue/level-store.js';
import { BENCH_GATEWAY, BENCH_ROUTE, BenchDaemon, fullSpeedFleets } from '../support/daemon.js';
import { DeliveryCounter } from '../support/delivery-counter.js';
import { quantile, type Sample } from '../support/figures.js';
import { freePort, Mosquitto } from '../support/mosquitto.js';
import { directoryBytes } from '../support/proc.js';
import { waitUntil } from '../support/wait.js';
import type { ScenarioContext } from './context.js';

const DEVICES = 1000;
/** Enough emits in flight that the group commit, not the fleet, bounds the persist rate. */
const SIM_ADAPTERS = 20;
const POLL_MS = 100;
/** A trickle of live readings during the drain, to see how long fresh data waits behind the backlog. */
const LIVE_DEVICES = 10;
const LIVE_INTERVAL_MS = 500;

/** Depth and highest gateway sequence number of the route's queue, read from the stopped daemon's store. */
async function storedBacklog(queueDir: string): Promise<{ depth: number; lastGseq: number }> {
  const store = await LevelQueueStore.open({
    dir: queueDir,
    commitIntervalMs: 200,
    commitMaxItems: 2000,
    durability: 'sync',
    maxBytes: Number.MAX_SAFE_INTEGER,
    minFreeBytes: 0,
    overflow: 'dropOldest',
    log: silentLogger(),
  });
  try {
    const stats = (await store.queue(BENCH_ROUTE, { ttlMs: 0 })).stats();
    return { depth: stats.depth, lastGseq: stats.nextSeq - 1 };
  } finally {
    await store.close();
  }
}

/**
 * Backlog (docs/benchmarks.md#backlog): the daemon runs the sim fleet at full speed with its
 * route pointing at a dead port until the queue holds `backlogReadings`; SIGTERM; then it restarts with the
 * fleet disabled (a small live fleet instead) and the broker reachable, and the drain is timed until the
 * subscriber holds every backlog reading.
 */
export async function backlog(ctx: ScenarioContext): Promise<Sample[]> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  const counter = await DeliveryCounter.connect({
    port: broker.port,
    topic: `fieldgate/${BENCH_GATEWAY}/telemetry`,
    payload: 'batch',
  });
  try {
    const outage = await BenchDaemon.start({
      dir: ctx.dir,
      upstreamPort: await freePort(),
      adapters: fullSpeedFleets(SIM_ADAPTERS, DEVICES),
    });
    const persistStart = Date.now();
    const persistCpuStart = await outage.cpuSeconds();
    let appended = 0;
    let persistCpu = 0;
    try {
      await waitUntil(
        async () => (appended = (await outage.queueStats()).appended) >= ctx.backlogReadings,
        `${ctx.backlogReadings} readings queued`,
        240_000,
        undefined,
        POLL_MS,
      );
      persistCpu = (await outage.cpuSeconds()) - persistCpuStart;
    } finally {
      await outage.stop();
    }
    const persistMs = Date.now() - persistStart;
    const queueDir = path.join(ctx.dir, 'state', 'queue');
    const diskBytes = await directoryBytes(queueDir);
    const stored = await storedBacklog(queueDir);

    const drainStart = Date.now();
    counter.keepAges((reading) => reading.device.startsWith('live:'));
    const drain = await BenchDaemon.start({
      dir: ctx.dir,
      upstreamPort: broker.port,
      adapters: { live: { climate: LIVE_DEVICES, reportIntervalMs: LIVE_INTERVAL_MS } },
    });
    const restartMs = Date.now() - drainStart;
    // The forwarder starts before the daemon reports itself started: count only what the timed part drains.
    const drainedBeforeStart = counter.countUpTo(stored.lastGseq);
    const drainCpuStart = await drain.cpuSeconds();
    let drainMs: number;
    let drainCpu: number;
    let liveAges: number[];
    try {
      await waitUntil(
        () => counter.countUpTo(stored.lastGseq) >= stored.depth,
        'the backlog to drain',
        240_000,
        undefined,
        POLL_MS,
      );
      drainMs = Date.now() - drainStart - restartMs;
      drainCpu = (await drain.cpuSeconds()) - drainCpuStart;
      liveAges = counter.takeAges();
    } finally {
      await drain.stop();
    }
    const encodedBytesPerReading = counter.payloadBytes / counter.received;
    return [
      { name: 'backlog.persist', value: appended / (persistMs / 1000), unit: 'readings/s' },
      { name: 'backlog.persistTime', value: persistMs / 1000, unit: 's' },
      { name: 'backlog.persistCpu', value: (persistCpu * 1e6) / appended, unit: 'µs/reading' },
      { name: 'backlog.size', value: stored.depth, unit: 'readings' },
      { name: 'backlog.diskBytesPerReading', value: diskBytes / stored.depth, unit: 'bytes' },
      {
        name: 'backlog.diskBytesPerEncodedByte',
        value: diskBytes / stored.depth / encodedBytesPerReading,
        unit: 'ratio',
      },
      { name: 'backlog.restart', value: restartMs / 1000, unit: 's' },
      {
        name: 'backlog.drain',
        value: (stored.depth - drainedBeforeStart) / (drainMs / 1000),
        unit: 'readings/s',
      },
      { name: 'backlog.drainTime', value: drainMs / 1000, unit: 's' },
      {
        name: 'backlog.drainCpu',
        value: (drainCpu * 1e6) / (stored.depth - drainedBeforeStart),
        unit: 'µs/reading',
      },
      { name: 'backlog.liveWait.p99', value: quantile(liveAges, 0.99), unit: 'ms' },
      { name: 'backlog.liveWait.max', value: Math.max(...liveAges), unit: 'ms' },
    ];
  } finally {
    await counter.close();
    await broker.stop();
  }
}
