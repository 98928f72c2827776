import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeliveryCounter } from '../support/delivery-counter.js';
import type { Sample } from '../support/figures.js';
import { Mosquitto } from '../support/mosquitto.js';
import { rssBytes } from '../support/proc.js';
import { sleep } from '../support/wait.js';
import { MB, type ScenarioContext } from './context.js';

const PUBLISHER = fileURLToPath(new URL('../bridge-publisher.js', import.meta.url));
const DEVICES = 1000;
const RSS_SAMPLE_MS = 250;

/**
 * The baseline (docs/benchmarks.md#baseline): Mosquitto as the field gateway. A local broker with persistence
 * bridges
 * `tele/#` at QoS 1 to an upstream broker; a publisher process drives the same sim fleet at full speed, one
 * reading per QoS 1 message; the same counter subscribes upstream and counts what arrives.
 */
export async function bridgeThroughput(ctx: ScenarioContext): Promise<Sample[]> {
  const upstream = await Mosquitto.start({ dir: path.join(ctx.dir, 'upstream'), persistence: false });
  const local = await Mosquitto.start({
    dir: path.join(ctx.dir, 'local'),
    persistence: true,
    bridgeToPort: upstream.port,
  });
  const counter = await DeliveryCounter.connect({ port: upstream.port, topic: 'tele/#', payload: 'single' });
  const publisher = spawn(process.execPath, [PUBLISHER, String(local.port), String(DEVICES)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const publisherExited = new Promise((resolve) => publisher.once('exit', resolve));
  try {
    await sleep(ctx.warmupMs);
    const before = { at: Date.now(), delivered: counter.distinct };
    let peakRss = 0;
    while (Date.now() - before.at < ctx.windowMs) {
      peakRss = Math.max(peakRss, await rssBytes(local.pid));
      await sleep(RSS_SAMPLE_MS);
    }
    const seconds = (Date.now() - before.at) / 1000;
    return [
      {
        name: 'bridge.throughput',
        value: (counter.distinct - before.delivered) / seconds,
        unit: 'readings/s',
      },
      { name: 'bridge.rss.underLoad', value: peakRss / MB, unit: 'MiB' },
    ];
  } finally {
    publisher.kill('SIGTERM');
    await publisherExited;
    await counter.close();
    await local.stop();
    await upstream.stop();
  }
}
