import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AzureHubEmulator } from '../../emulators/azure/index.js';
import { HubRegistry } from '../../emulators/azure/index.js';
import { silentLogger } from '../../src/logger.js';
import { BENCH_ROUTE, BenchDaemon, fullSpeedFleets } from '../support/daemon.js';
import type { Sample } from '../support/figures.js';
import { sleep } from '../support/wait.js';
import type { ScenarioContext } from './context.js';

const DEVICES = 1000;
/** Offers up to 5,000 readings/s (see `fullSpeedFleets`): more than one send in flight can carry. */
const SIM_ADAPTERS = 10;
const HOST = 'bench-hub.azure-devices.net';
const DEVICE_ID = 'bench';
const KEY = Buffer.from('bench-key-000000000000000000000001').toString('base64');
/** Readings a per-reading design would send as 10,000 messages of at least one billed unit each. */
const PER_10K = 10_000;

type Protocol = 'amqp' | 'https';
type Encoding = 'json' | 'json+gzip';

/**
 * Throughput and cost over Azure IoT Hub's AMQP and HTTPS transports (docs/benchmarks.md#throughput,
 * #cloud-cost): the real
 * daemon with a full-speed sim fleet and one `type: azure` route to the hub emulator (plain TCP, SAS), its
 * readings counted by the forwarder, its cost counted by the emulator's own billing meter (4 KB units),
 * with plain JSON bodies and with `encoding: json+gzip` (figures `azure.<protocol>.gzip…`).
 */
export async function azureThroughput(ctx: ScenarioContext): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const encoding of ['json', 'json+gzip'] as const) {
    for (const protocol of ['amqp', 'https'] as const) {
      samples.push(...(await overProtocol(ctx, protocol, encoding)));
    }
  }
  return samples;
}

async function overProtocol(ctx: ScenarioContext, protocol: Protocol, encoding: Encoding): Promise<Sample[]> {
  const hub = await AzureHubEmulator.start({
    registry: new HubRegistry({ hostName: HOST, devices: { [DEVICE_ID]: { primaryKey: KEY } } }),
    host: '127.0.0.1',
    port: 0,
    amqpPort: 0,
    httpsPort: 0,
    log: silentLogger(),
  });
  const name = encoding === 'json' ? `azure.${protocol}` : `azure.${protocol}.gzip`;
  const dir = path.join(ctx.dir, name);
  await mkdir(dir);
  const daemon = await BenchDaemon.start({
    dir,
    upstreamPort: 0,
    upstream: {
      type: 'azure',
      protocol,
      encoding,
      hostName: HOST,
      deviceId: DEVICE_ID,
      sharedAccessKey: KEY,
      endpoint: protocol === 'amqp' ? hub.amqpUrl : hub.httpsUrl,
    },
    adapters: fullSpeedFleets(SIM_ADAPTERS, DEVICES),
    drain: 'fifo',
  });
  try {
    await sleep(ctx.warmupMs);
    const sent = async () =>
      (await daemon.status()).routes.find((r) => r.name === BENCH_ROUTE)!.forwarder.sentReadings;
    const before = { at: Date.now(), readings: await sent(), hub: hub.counters() };
    await sleep(ctx.windowMs);
    const after = { at: Date.now(), readings: await sent(), hub: hub.counters() };
    const readings = after.readings - before.readings;
    const messages = after.hub.messages - before.hub.messages;
    const units = after.hub.billedUnits - before.hub.billedUnits;
    const per10k = (n: number) => (n / Math.max(1, readings)) * PER_10K;
    return [
      { name, value: readings / ((after.at - before.at) / 1000), unit: 'readings/s' },
      { name: `${name}.messagesPer10k`, value: per10k(messages), unit: 'messages' },
      { name: `${name}.billedPer10k`, value: per10k(units), unit: 'units' },
      { name: `${name}.perReadingPer10k`, value: PER_10K, unit: 'units' },
    ];
  } finally {
    await daemon.stop();
    await hub.close();
  }
}
