import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import { silentLogger } from '../../src/logger.js';
import type { Reading } from '../../src/model.js';
import { encodeReading, encodeSeq } from '../../src/queue/codec.js';
import { LevelQueueStore } from '../../src/queue/level-store.js';
import type { Sample } from '../support/figures.js';
import { directoryBytes } from '../support/proc.js';
import type { ScenarioContext } from './context.js';

const READINGS = 100_000;
const APPEND_BATCH = 100;
/** Appends in flight at once, as from several adapters awaiting `emit`. */
const CONCURRENT_APPENDERS = 20;
const LEASE_BATCH = 500;
/**
 * The ceiling docs/benchmarks.md#baseline compares with: what LevelDB alone commits in 1,000-record synced
 * batches.
 */
const RAW_BATCH = 1000;

function simReading(index: number): Reading {
  return {
    device: `sim:climate-${String(index % 1000).padStart(4, '0')}`,
    ts: Date.now(),
    values: {
      temperature: 18 + (index % 70) / 10,
      humidity: 40 + (index % 20),
      pressure: 1000 + (index % 30),
    },
    units: { temperature: '°C', humidity: '%', pressure: 'hPa' },
    seq: index,
  };
}

/**
 * The queue alone, in process (no adapters, pipeline or network): persist 100,000 readings through group
 * commit with fsync, then drain them by lease + ack.
 */
export async function queueAlone(ctx: ScenarioContext): Promise<Sample[]> {
  const dir = path.join(ctx.dir, 'queue');
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
  try {
    const queue = await store.queue('bench', { ttlMs: 0 });
    let nextBatch = 0;
    const persistStart = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT_APPENDERS }, async () => {
        for (let batch = nextBatch++; batch * APPEND_BATCH < READINGS; batch = nextBatch++) {
          const readings = Array.from({ length: APPEND_BATCH }, (_, i) =>
            simReading(batch * APPEND_BATCH + i),
          );
          await queue.append(readings);
        }
      }),
    );
    const persistMs = performance.now() - persistStart;
    const diskBytes = await directoryBytes(dir);

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
    return [
      { name: 'queue.persist', value: READINGS / (persistMs / 1000), unit: 'readings/s' },
      { name: 'queue.diskBytesPerReading', value: diskBytes / READINGS, unit: 'bytes' },
      { name: 'queue.drain', value: drained / (drainMs / 1000), unit: 'readings/s' },
    ];
  } finally {
    await store.close();
  }
}

/** LevelDB with nothing of fieldgate around it: sequential 1,000-record batches, each fsynced. */
export async function levelDbAlone(ctx: ScenarioContext): Promise<Sample[]> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(ctx.dir, 'raw'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open();
  try {
    const start = performance.now();
    for (let first = 0; first < READINGS; first += RAW_BATCH) {
      const batch = db.batch();
      for (let index = first; index < first + RAW_BATCH; index++) {
        batch.put(encodeSeq(index), encodeReading(simReading(index)));
      }
      await batch.write({ sync: true });
    }
    return [
      {
        name: 'leveldb.syncedBatches',
        value: READINGS / ((performance.now() - start) / 1000),
        unit: 'readings/s',
      },
    ];
  } finally {
    await db.close();
  }
}
