/**
 * Queue benchmark: persist 100,000 sim-like readings (3 values each) through group commit with fsync, then
 * drain them by lease + ack. Prints one JSON line per figure.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/logger.js';
import type { Reading } from '../src/model.js';
import { LevelQueueStore } from '../src/queue/level-store.js';

const READINGS = 100_000;
const APPEND_BATCH = 100;
/** Appends in flight at once, as from several adapters awaiting `emit`. */
const CONCURRENT_APPENDERS = 20;
const LEASE_BATCH = 500;

function simReading(index: number): Reading {
  return {
    device: `sim:thermo-${String(index % 1000).padStart(3, '0')}`,
    ts: Date.now(),
    values: { temperature: 18 + (index % 70) / 10, humidity: 40 + (index % 20), battery: 100 - (index % 30) },
    seq: index,
  };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await readdir(dir)) total += (await stat(path.join(dir, file))).size;
  return total;
}

function report(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 10) / 10, unit }));
}

const root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-bench-queue-'));
try {
  const dir = path.join(root, 'queue');
  const store = await LevelQueueStore.open({
    dir,
    commitIntervalMs: 200,
    commitMaxItems: 2000,
    durability: 'sync',
    maxBytes: 1024 ** 3,
    minFreeBytes: 0,
    overflow: 'dropOldest',
    log: silentLogger(),
  });
  const queue = await store.queue('bench', { ttlMs: 0 });

  let nextBatch = 0;
  const persistStart = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT_APPENDERS }, async () => {
      for (let batch = nextBatch++; batch * APPEND_BATCH < READINGS; batch = nextBatch++) {
        const readings = Array.from({ length: APPEND_BATCH }, (_, i) => simReading(batch * APPEND_BATCH + i));
        await queue.append(readings);
      }
    }),
  );
  const persistMs = performance.now() - persistStart;
  report('queue.persist', READINGS / (persistMs / 1000), 'readings/s');
  // Disk held by the backlog (write-ahead log plus tables), which is what a long outage costs.
  report('queue.bytesPerReading', (await directoryBytes(dir)) / READINGS, 'bytes');

  const drainStart = performance.now();
  let drained = 0;
  for (
    let lease = await queue.lease(LEASE_BATCH, 1024 ** 2);
    lease !== null;
    lease = await queue.lease(LEASE_BATCH, 1024 ** 2)
  ) {
    await queue.settle(lease, { ack: lease.items.map((item) => item.gseq) });
    drained += lease.items.length;
  }
  const drainMs = performance.now() - drainStart;
  report('queue.drain', drained / (drainMs / 1000), 'readings/s');

  await store.close();
} finally {
  await rm(root, { recursive: true, force: true });
}
