import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logger.js';
import { LevelQueueStore } from '../../../src/queue/level-store.js';
import type { Queue } from '../../../src/queue/queue.js';
import { simReadings } from '../../contract/queue.contract.js';

const BIG = 1024 ** 3;
const SEGMENTS = 8;
const PER_SEGMENT = 10;

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-queue-stats-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function openStore(): Promise<LevelQueueStore> {
  return LevelQueueStore.open({
    dir: path.join(root, 'queue'),
    commitIntervalMs: 5,
    commitMaxItems: 1000,
    durability: 'relaxed',
    maxBytes: BIG,
    minFreeBytes: 0,
    overflow: 'dropOldest',
    log: silentLogger(),
  });
}

/** Every reading the queue holds or has acknowledged since open: `fieldgate status` shows these two. */
function accounted(queue: Queue): number {
  const { depth, acked } = queue.stats();
  return depth + acked;
}

/**
 * `status` is read at any moment, also while a settle is writing. With no appends, a reading acknowledged
 * leaves `depth` and joins `acked`: their sum must never dip, or a reader of `status` (the power-cut
 * scenario's "found at start") sees a batch that is neither stored nor delivered.
 */
it('keeps depth + acked constant while leases are settled, sampled between every I/O step', async () => {
  const writer = await openStore();
  const filling = await writer.queue('cloud', { ttlMs: 0 });
  // One append per group commit: one segment each.
  for (let n = 0; n < SEGMENTS; n++) await filling.append(simReadings(PER_SEGMENT, n * PER_SEGMENT));
  await writer.close();

  // Reopened, so no segment is cached: a settle that removes the head reads the next segment from disk.
  const store = await openStore();
  try {
    const queue = await store.queue('cloud', { ttlMs: 0 });
    const total = SEGMENTS * PER_SEGMENT;
    expect(accounted(queue)).toBe(total);
    const leases = [];
    for (let n = 0; n < SEGMENTS; n++) leases.push((await queue.lease(PER_SEGMENT, BIG))!);

    const samples: number[] = [];
    let isSettling = true;
    const sampler = (async () => {
      while (isSettling) {
        samples.push(accounted(queue));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      for (const lease of leases) await queue.settle(lease, { ack: lease.items.map((item) => item.gseq) });
    } finally {
      isSettling = false;
      await sampler;
    }

    expect(queue.stats()).toMatchObject({ depth: 0, acked: total });
    expect(samples.length).toBeGreaterThan(SEGMENTS);
    expect(new Set(samples)).toEqual(new Set([total]));
  } finally {
    await store.close();
  }
});
