import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { encodeReading, encodeSeq } from '../../../src/queue/codec.js';
import { LevelQueueStore } from '../../../src/queue/level-store.js';
import type { Queue } from '../../../src/queue/queue.js';
import { simReadings } from '../../contract/queue.contract.js';

const BIG = 1024 ** 3;
const ROUTE_PREFIX = '!queue!!cloud!!';

/** A route's queue across restarts, in segments (format 2), and the format-1 queues it migrates. */
describe('route storage across restarts', () => {
  let root: string;
  let dir: string;
  const stores: LevelQueueStore[] = [];

  async function openQueue(options: { commitIntervalMs?: number } = {}): Promise<Queue> {
    const store = await LevelQueueStore.open({
      dir,
      commitIntervalMs: options.commitIntervalMs ?? 5,
      commitMaxItems: 1000,
      durability: 'relaxed',
      maxBytes: BIG,
      minFreeBytes: 0,
      overflow: 'dropOldest',
      log: silentLogger(),
    });
    stores.push(store);
    return store.queue('cloud', { ttlMs: 0 });
  }

  async function restart(): Promise<Queue> {
    for (const store of stores.splice(0)) await store.close();
    return openQueue();
  }

  /** Every gseq the queue still holds, by leasing everything. */
  async function remaining(queue: Queue): Promise<number[]> {
    return (await queue.lease(10_000, BIG))?.items.map((item) => item.gseq) ?? [];
  }

  /** White-box: the route's raw records, by keyspace. */
  async function rawKeys(): Promise<Record<string, number>> {
    for (const store of stores.splice(0)) await store.close();
    const raw = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
    const counts: Record<string, number> = {};
    for await (const key of raw.keys()) {
      const space = /^!queue!!cloud!!(\w+)!/.exec(key)?.[1] ?? 'other';
      counts[space] = (counts[space] ?? 0) + 1;
    }
    await raw.close();
    return counts;
  }

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-route-'));
    dir = path.join(root, 'queue');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await rm(root, { recursive: true, force: true });
  });

  it('stores the appends of one commit as one record, and deletes it once all are acked', async () => {
    const queue = await openQueue({ commitIntervalMs: 500 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => queue.append(simReadings(10, i * 10))));
    expect(await rawKeys()).toEqual({ segments: 1, meta: 1 });

    const reopened = await openQueue();
    const lease = (await reopened.lease(10_000, BIG))!;
    expect(lease.items.map((item) => item.gseq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await reopened.settle(lease, { ack: lease.items.map((item) => item.gseq) });
    expect(await rawKeys()).toEqual({ meta: 2 });
  });

  it('does not bring back items acked or dead-lettered out of order inside a segment', async () => {
    const queue = await openQueue();
    await queue.append(simReadings(6));
    const head = (await queue.lease(2, BIG))!;
    const middle = (await queue.lease(2, BIG))!;
    await queue.settle(middle, { ack: [3], reject: [{ gseq: 4, reason: 'too big' }] });
    const newest = (await queue.lease(1, BIG, { newestFirst: true }))!;
    await queue.settle(newest, { ack: [6] });
    expect(head.items.map((item) => item.gseq)).toEqual([1, 2]);

    const after = await restart();
    expect(after.stats()).toMatchObject({ depth: 3, deadLetters: 1, nextSeq: 7 });
    expect(await remaining(after)).toEqual([1, 2, 5]);
  });

  it('after out-of-order settles, a restart redelivers only the item that went back to the queue', async () => {
    const queue = await openQueue();
    await queue.append(simReadings(4));
    const first = (await queue.lease(2, BIG))!;
    const second = (await queue.lease(2, BIG))!;
    await queue.settle(second, { ack: [3] });
    await queue.settle(first, { ack: [1, 2] });

    const after = await restart();
    expect(await remaining(after)).toEqual([4]);
    expect(after.stats()).toMatchObject({ depth: 1, bytes: expect.any(Number) as number });
  });

  it('migrates a queue stored one record per reading, keeping seqs, readings and the cursor', async () => {
    const readings = simReadings(5);
    const raw = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    // Format 1: items 3..5 stored (1 and 2 acked, so the cursor is 2), lastSeq 7 (6 and 7 acked newest first).
    await raw.batch([
      ...[3, 4, 5].map((seq) => ({
        type: 'put' as const,
        key: Buffer.concat([Buffer.from(`${ROUTE_PREFIX}items!`), encodeSeq(seq)]),
        value: encodeReading(readings[seq - 1]!),
      })),
      {
        type: 'put' as const,
        key: Buffer.from(`${ROUTE_PREFIX}meta!position`),
        value: Buffer.from(JSON.stringify({ cursor: 2, lastSeq: 7 })),
      },
    ]);
    await raw.close();

    const queue = await openQueue();
    expect(queue.stats()).toMatchObject({ depth: 3, nextSeq: 8 });
    const lease = (await queue.lease(10, BIG))!;
    expect(lease.items.map(({ gseq, reading }) => ({ gseq, reading }))).toEqual(
      [3, 4, 5].map((seq) => ({ gseq: seq, reading: readings[seq - 1] })),
    );
    expect(await rawKeys()).toEqual({ segments: 1, meta: 2 });
  });

  it('refuses a queue written in a newer format and leaves it as it is', async () => {
    const queue = await openQueue();
    await queue.append(simReadings(2));
    for (const store of stores.splice(0)) await store.close();
    const raw = new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' });
    await raw.put(`${ROUTE_PREFIX}meta!format`, 3);
    await raw.close();

    await expect(openQueue()).rejects.toSatisfy(
      (e: unknown) => isFieldgateError(e, 'FG_QUEUE_CORRUPT') && /format 3/.test((e as Error).message),
    );
    expect(await rawKeys()).toEqual({ segments: 1, meta: 1 });
  });
});
