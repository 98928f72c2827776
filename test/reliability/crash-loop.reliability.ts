import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMqttBroker, type MqttBroker } from '../../emulators/mqtt/index.js';
import { silentLogger } from '../../src/logger.js';
import { Daemon, makeWorkdir, testConfig, waitFor } from '../integration/support/daemon.js';
import { Subscriber, type ReceivedReading } from '../integration/support/subscriber.js';
import { highest } from './support/highest.js';

/**
 * docs/benchmarks.md asks for 20 kills during a 100,000-reading run; `RELIABILITY_KILLS` shortens it for a
 * quick look.
 */
const KILLS = Number(process.env.RELIABILITY_KILLS ?? 20);
const TARGET_READINGS = 100_000;
/** Ten full-speed sim adapters keep ten emits in flight: a few thousand readings/s on a small machine. */
const SIM_ADAPTERS = 10;

interface Life {
  bornAt: number;
  killedAt: number;
  /** Readings the daemon reported committed (`appended`) in its last status before the kill. */
  committed: number;
}

function fleetConfig(dir: string, port: number, isFleetRunning: boolean) {
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
  return testConfig(dir, port, { adapters, queue: { commitIntervalMs: 200 } });
}

/** A reading's identity across lives: each life restarts the sims' `seq`, but lives never overlap in time. */
const identity = (r: ReceivedReading) => `${r.device}/${r.seq}/${r.ts}`;

let work: Awaited<ReturnType<typeof makeWorkdir>>;
let broker: MqttBroker;
let subscriber: Subscriber;

beforeAll(async () => {
  work = await makeWorkdir();
  broker = await startMqttBroker({ host: '127.0.0.1', port: 0, log: silentLogger() });
  subscriber = await Subscriber.connect(broker.port);
});

afterAll(async () => {
  await subscriber.close();
  await broker.close();
  await work.cleanup();
});

it(`delivers every reading committed before each of ${KILLS} kill -9`, async () => {
  const lives: Life[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const bornAt = Date.now();
    const daemon = await Daemon.start(work.dir, fleetConfig(work.dir, broker.port, true));
    // A random moment: anywhere from right after start to a few seconds in.
    const lifeMs = Math.random() * (TARGET_READINGS / KILLS / 2000) * 1000;
    let committed = 0;
    const deadline = Date.now() + lifeMs;
    do committed = (await daemon.status()).routes[0]!.queue.appended;
    while (Date.now() < deadline);
    await daemon.kill9();
    lives.push({ bornAt, killedAt: Date.now(), committed });
  }
  // A last, clean life with the fleet off delivers whatever the kills left queued.
  const final = await Daemon.start(work.dir, fleetConfig(work.dir, broker.port, false));
  await waitFor(
    async () => (await final.status()).routes[0]!.queue.depth === 0,
    'the queue to drain',
    120_000,
  );
  await final.stop();

  const byIdentity = new Map<string, number>();
  for (const reading of subscriber.readings) {
    byIdentity.set(identity(reading), (byIdentity.get(identity(reading)) ?? 0) + 1);
  }
  const duplicates = [...byIdentity.values()].reduce((sum, count) => sum + count - 1, 0);
  const shortfalls = lives.map((life) => {
    const delivered = [...byIdentity.keys()].filter((key) => {
      const ts = Number(key.slice(key.lastIndexOf('/') + 1));
      return ts >= life.bornAt && ts <= life.killedAt;
    }).length;
    return { committed: life.committed, delivered, short: Math.max(0, life.committed - delivered) };
  });
  const committed = shortfalls.reduce((sum, life) => sum + life.committed, 0);
  console.log(
    `crash loop: ${KILLS} kill -9, ${committed} readings committed before the kills, ` +
      `${byIdentity.size} distinct delivered, ${duplicates} duplicates, ` +
      // Numbers handed to readings that never committed are skipped after a crash: a gap, but no loss.
      `${highest(subscriber.gseqs()) - subscriber.gseqs().size} gateway sequence numbers skipped`,
  );
  expect(shortfalls.filter((life) => life.short > 0)).toEqual([]);
});
