import path from 'node:path';
import { BenchDaemon, daemonNodeOptions, fullSpeedFleets } from '../support/daemon.js';
import type { Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

const DEVICES = 1000;
/** 10 full-speed sim adapters offer up to 5,000 readings/s: a load the daemon keeps up with on 2 cores. */
const SIM_ADAPTERS = 10;
const RSS_SAMPLE_MS = 250;

/**
 * RSS against GC CPU (docs/benchmarks.md#footprint): the same load under the systemd unit's heap settings and
 * under V8's
 * default young generation, one after the other in the same run. Small semi-spaces keep RSS down; the
 * price is more scavenges, which shows as CPU per reading.
 */
export async function heapSettings(ctx: ScenarioContext): Promise<Sample[]> {
  const unit = await daemonNodeOptions();
  const v8Default = unit.replace(/--max-semi-space-size=\S+/, '').trim();
  return [
    ...(await underLoad(ctx, 'heap.unit', unit)),
    ...(await underLoad(ctx, 'heap.v8DefaultYoung', v8Default)),
  ];
}

async function underLoad(ctx: ScenarioContext, name: string, nodeOptions: string): Promise<Sample[]> {
  const dir = path.join(ctx.dir, name);
  const broker = await Mosquitto.start({ dir: path.join(dir, 'broker'), persistence: false });
  const daemon = await BenchDaemon.start({
    dir,
    upstreamPort: broker.port,
    adapters: fullSpeedFleets(SIM_ADAPTERS, DEVICES),
    nodeOptions,
  });
  try {
    await sleep(ctx.warmupMs);
    const before = { at: Date.now(), cpuS: await daemon.cpuSeconds(), queue: await daemon.queueStats() };
    let peakRss = 0;
    while (Date.now() - before.at < ctx.windowMs) {
      peakRss = Math.max(peakRss, await daemon.rssBytes());
      await sleep(RSS_SAMPLE_MS);
    }
    const after = { at: Date.now(), cpuS: await daemon.cpuSeconds(), queue: await daemon.queueStats() };
    const appended = after.queue.appended - before.queue.appended;
    const cpuMs = (after.cpuS - before.cpuS) * 1000;
    return [
      { name: `${name}.rss`, value: peakRss / MB, unit: 'MiB' },
      { name: `${name}.cpuPer1k`, value: (cpuMs / Math.max(1, appended)) * 1000, unit: 'ms/1k readings' },
      { name: `${name}.rate`, value: appended / ((after.at - before.at) / 1000), unit: 'readings/s' },
    ];
  } finally {
    await daemon.stop();
    await broker.stop();
  }
}
