import path from 'node:path';
import { BENCH_GATEWAY, BenchDaemon } from '../support/daemon.js';
import { DeliveryCounter } from '../support/delivery-counter.js';
import { quantile, type Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

/**
 * 1,000 devices, each reporting about once a second, independently of each other as real sensors do: a sim
 * device re-arms its timer only after its emit resolved at the group commit (~100 ms on average), then
 * waits 650 ms plus a random 0–400 ms. Without the jitter the whole fleet re-arms at the same commit and
 * reports in one burst per second, so every reading waits the full commit interval (p50 ≈ 210 ms, p99 ≈
 * 290 ms with 200 ms commits, against p50 ≈ 120 ms, p99 ≈ 240 ms with it on the same box).
 */
const DEVICES = 1000;
const REPORT_INTERVAL_MS = 650;
const JITTER_MS = 400;

/**
 * Latency (docs/benchmarks.md#latency) at 1,000 readings/s with the default commit interval and batching:
 * from a
 * reading's creation (`ts`, the gateway clock) to its arrival at the subscriber, which follows the broker's
 * acknowledgement by one loopback hop. Also the daemon's RSS at this moderate load.
 */
export async function latency(ctx: ScenarioContext): Promise<Sample[]> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  const counter = await DeliveryCounter.connect({
    port: broker.port,
    topic: `fieldgate/${BENCH_GATEWAY}/telemetry`,
    payload: 'batch',
  });
  const daemon = await BenchDaemon.start({
    dir: ctx.dir,
    upstreamPort: broker.port,
    adapters: { sim: { climate: DEVICES, reportIntervalMs: REPORT_INTERVAL_MS, jitterMs: JITTER_MS } },
  });
  try {
    await sleep(ctx.warmupMs);
    const windowStart = Date.now();
    counter.keepAges((reading) => reading.ts >= windowStart);
    await sleep(ctx.windowMs);
    const rss = await daemon.rssBytes();
    const ages = counter.takeAges();
    const seconds = ctx.windowMs / 1000;
    return [
      { name: 'latency.rate', value: ages.length / seconds, unit: 'readings/s' },
      { name: 'latency.p50', value: quantile(ages, 0.5), unit: 'ms' },
      { name: 'latency.p99', value: quantile(ages, 0.99), unit: 'ms' },
      { name: 'latency.max', value: Math.max(...ages), unit: 'ms' },
      { name: 'fieldgate.rss.at1000PerSecond', value: rss / MB, unit: 'MiB' },
    ];
  } finally {
    await daemon.stop();
    await counter.close();
    await broker.stop();
  }
}

/**
 * Footprint (docs/benchmarks.md#footprint): RSS of the daemon with 1,000 sim devices at the default report
 * interval.
 */
export async function idleFootprint(ctx: ScenarioContext): Promise<Sample[]> {
  const broker = await Mosquitto.start({ dir: path.join(ctx.dir, 'broker'), persistence: false });
  const daemon = await BenchDaemon.start({
    dir: ctx.dir,
    upstreamPort: broker.port,
    adapters: { sim: { climate: DEVICES, reportIntervalMs: 5000, jitterMs: 500 } },
  });
  try {
    await sleep(ctx.warmupMs + ctx.windowMs / 2);
    return [{ name: 'fieldgate.rss.idle', value: (await daemon.rssBytes()) / MB, unit: 'MiB' }];
  } finally {
    await daemon.stop();
    await broker.stop();
  }
}
