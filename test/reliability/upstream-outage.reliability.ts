import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber } from '../integration/support/subscriber.js';
import { highest } from './support/highest.js';
import { TcpProxy } from '../fakes/tcp-proxy.js';

const BACKLOG_READINGS = 200_000;
/** Twenty full-speed sim adapters: the backlog builds at well over 10,000 readings/s. */
const SIM_ADAPTERS = 20;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let proxy: TcpProxy;
let subscriber: Subscriber;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  proxy = await TcpProxy.start(broker.port);
  subscriber = await Subscriber.connect(broker.port);
});

afterAll(async () => {
  await subscriber.close();
  await proxy.cut();
  await broker.close();
  await work.cleanup();
});

it(`delivers a ${BACKLOG_READINGS}-reading outage backlog, complete and in order per device`, async () => {
  const adapters = Object.fromEntries(
    Array.from({ length: SIM_ADAPTERS }, (_, i) => [
      `sim${i}`,
      {
        type: 'sim',
        fleet: { climate: 50, switch: 0, contact: 0, sleepy: 0 },
        reportIntervalMs: 0,
        batchSize: 100,
      },
    ]),
  );
  const config = testConfig(work.dir, proxy.port, { adapters, queue: { commitIntervalMs: 200 } });
  (config.routes.local as Record<string, unknown>).drain = 'fifo';
  const daemon = await Daemon.start(work.dir, config);
  try {
    await waitFor(() => subscriber.readings.length > 0, 'first deliveries');
    await proxy.cut();
    await waitFor(
      async () => (await daemon.status()).routes[0]!.queue.depth >= BACKLOG_READINGS,
      `${BACKLOG_READINGS} readings queued`,
      240_000,
    );
  } finally {
    // Stop the fleet so the drain has an end: SIGTERM commits what the sims emitted last.
    await daemon.stop();
  }
  await proxy.restore();
  const drain = await Daemon.start(work.dir, {
    ...config,
    adapters: Object.fromEntries(
      Object.entries(adapters).map(([name, a]) => [name, { ...a, enabled: false }]),
    ),
  });
  try {
    await waitFor(async () => (await drain.status()).routes[0]!.queue.depth === 0, 'the drain', 240_000);
    await waitFor(() => subscriber.gseqs().size >= (subscriber.readings.at(-1)?.gseq ?? 0), 'the last batch');
  } finally {
    await drain.stop();
  }

  // A batch whose PUBACK was lost in the cut is sent again: judge order by each reading's first arrival.
  const seen = new Set<number>();
  const seqsByDevice = new Map<string, number[]>();
  for (const reading of subscriber.readings) {
    if (seen.has(reading.gseq)) continue;
    seen.add(reading.gseq);
    const seqs = seqsByDevice.get(reading.device) ?? [];
    seqs.push(reading.seq!);
    seqsByDevice.set(reading.device, seqs);
  }
  const outOfOrder = [...seqsByDevice].filter(([, seqs]) =>
    seqs.some((seq, i) => i > 0 && seq <= seqs[i - 1]!),
  );
  const gaps = [...seqsByDevice].filter(([, seqs]) => seqs.at(-1) !== new Set(seqs).size);
  console.log(
    `upstream outage: ${subscriber.readings.length} deliveries, ${subscriber.gseqs().size} distinct, ` +
      `${seqsByDevice.size} devices, ${outOfOrder.length} out of order, ${gaps.length} with gaps`,
  );
  // Numbered from 1 in one life: as many distinct numbers as the highest one means none is missing.
  expect(subscriber.gseqs().size).toBe(highest(subscriber.gseqs()));
  expect(outOfOrder.map(([device]) => device)).toEqual([]);
  expect(gaps.map(([device]) => device)).toEqual([]);
});
