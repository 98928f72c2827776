import path from 'node:path';
import { BENCH_GATEWAY, BenchDaemon, fullSpeedFleets } from '../support/daemon.js';
import { DeliveryCounter } from '../support/delivery-counter.js';
import type { Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep, waitUntil } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

const DEVICES = 1000;
const RSS_SAMPLE_MS = 250;

/** How hard the fleet pushes. */
export interface ThroughputLoad {
  /** Figure name prefix. */
  name: string;
  /** Full-speed sim adapters, each keeping one emit of `batchSize` readings in flight (`fullSpeedFleets`). */
  simAdapters: number;
  /** Readings per emit; default that of `fullSpeedFleets`. */
  batchSize?: number;
}

/**
 * Durable end-to-end throughput (docs/benchmarks.md#throughput): the sim fleet at full speed → pipeline →
 * LevelDB queue
 * (group commit, fsync) → MQTT QoS 1 → a real Mosquitto → a subscriber that decodes every batch. FIFO drain,
 * so any gap below the highest gateway sequence number received is a loss.
 */
export async function fieldgateThroughput(ctx: ScenarioContext, load: ThroughputLoad): Promise<Sample[]> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  const counter = await DeliveryCounter.connect({
    port: broker.port,
    topic: `fieldgate/${BENCH_GATEWAY}/telemetry`,
    payload: 'batch',
  });
  const daemon = await BenchDaemon.start({
    dir: ctx.dir,
    upstreamPort: broker.port,
    adapters: fullSpeedFleets(load.simAdapters, DEVICES, load.batchSize),
    drain: 'fifo',
  });
  try {
    await sleep(ctx.warmupMs);
    const before = { at: Date.now(), delivered: counter.distinct, queue: await daemon.queueStats() };
    const writtenBefore = await daemon.storageWriteBytes();
    let peakRss = 0;
    while (Date.now() - before.at < ctx.windowMs) {
      peakRss = Math.max(peakRss, await daemon.rssBytes());
      await sleep(RSS_SAMPLE_MS);
    }
    const after = { at: Date.now(), delivered: counter.distinct, queue: await daemon.queueStats() };
    const written = (await daemon.storageWriteBytes()) - writtenBefore;
    const seconds = (after.at - before.at) / 1000;
    const appended = after.queue.appended - before.queue.appended;

    await daemon.stop();
    // What was published before the stop is still arriving: let the count settle before looking for gaps.
    let settled = -1;
    await waitUntil(
      () => settled === (settled = counter.distinct),
      'deliveries to settle',
      30_000,
      undefined,
      500,
    );
    const { gseqGaps, deviceSeqGaps } = counter.losses();
    return [
      { name: load.name, value: (after.delivered - before.delivered) / seconds, unit: 'readings/s' },
      { name: `${load.name}.appended`, value: appended / seconds, unit: 'readings/s' },
      { name: `${load.name}.queueDepthAtEnd`, value: after.queue.depth, unit: 'readings' },
      { name: `${load.name}.rss`, value: peakRss / MB, unit: 'MiB' },
      { name: `${load.name}.storageWritten`, value: written / Math.max(1, appended), unit: 'bytes/reading' },
      { name: `${load.name}.lostGseq`, value: gseqGaps, unit: 'readings' },
      { name: `${load.name}.lostDeviceSeq`, value: deviceSeqGaps, unit: 'readings' },
      { name: `${load.name}.duplicates`, value: counter.duplicates, unit: 'readings' },
    ];
  } finally {
    await daemon.stop();
    await counter.close();
    await broker.stop();
  }
}
