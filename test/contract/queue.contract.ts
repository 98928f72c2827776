import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../src/errors.js';
import type { Reading } from '../../src/model.js';
import type { OverflowPolicy, Queue } from '../../src/queue/queue.js';

export interface QueueUnderTest {
  queue: Queue;
  /** Close and delete whatever the queue used. */
  dispose(): Promise<void>;
}

export type QueueFactory = (options: {
  maxBytes: number;
  overflow: OverflowPolicy;
  ttlMs: number;
  now: () => number;
}) => Promise<QueueUnderTest>;

const START_MS = 1_700_000_000_000;

/** Sim-like readings of identical encoded size (fixed-width numbers), so quotas can be counted in items. */
export function simReading(index: number, ts = START_MS): Reading {
  return {
    device: 'sim:thermo-01',
    ts,
    values: { temperature: 21.5, humidity: 48, battery: 97 },
    seq: 1000 + index,
  };
}

export function simReadings(count: number, from = 0, ts = START_MS): Reading[] {
  return Array.from({ length: count }, (_, index) => simReading(from + index, ts));
}

/**
 * The `Queue` contract (docs/architecture.md#queue), run against every implementation. `factory` builds a
 * fresh, empty
 * queue per test.
 */
export function queueContract(name: string, factory: QueueFactory): void {
  describe(`${name} (Queue contract)`, () => {
    let clockMs = START_MS;
    const now = (): number => clockMs;
    const opened: QueueUnderTest[] = [];
    let itemBytes = 0;

    async function open(
      options: { maxBytes?: number; overflow?: OverflowPolicy; ttlMs?: number } = {},
    ): Promise<Queue> {
      const underTest = await factory({
        maxBytes: options.maxBytes ?? 1024 ** 3,
        overflow: options.overflow ?? 'dropOldest',
        ttlMs: options.ttlMs ?? 0,
        now,
      });
      opened.push(underTest);
      return underTest.queue;
    }

    /** A quota that holds exactly `items` of our readings. */
    const quotaFor = (items: number): number => items * itemBytes;

    beforeEach(async () => {
      clockMs = START_MS;
      const probe = await open();
      await probe.append([simReading(0)]);
      itemBytes = probe.stats().bytes;
    });

    afterEach(async () => {
      for (const underTest of opened.splice(0)) await underTest.dispose();
    });

    it('assigns increasing sequence numbers and leases in FIFO order', async () => {
      const queue = await open();
      const first = await queue.append(simReadings(3));
      const second = await queue.append(simReadings(2, 3));
      expect([...first, ...second]).toEqual([1, 2, 3, 4, 5]);

      const lease = await queue.lease(10, 1024 ** 2);
      expect(lease?.items.map((item) => item.gseq)).toEqual([1, 2, 3, 4, 5]);
      expect(lease?.items.map((item) => item.reading)).toEqual(simReadings(5));
    });

    it('hands out stored bytes, when it has them, as the reading in wire field order', async () => {
      const queue = await open();
      const odd = { seq: 7, values: { on: true }, units: { on: 'bool' }, ts: START_MS, device: 'sim:a' };
      await queue.append([odd, { ...simReading(0), extra: 'not a reading field' } as Reading]);
      const lease = await queue.lease(10, 1024 ** 2);
      for (const { reading, encoded } of lease?.items ?? []) {
        if (encoded === undefined) continue;
        const { device, ts, values, units, seq } = reading;
        expect(Buffer.from(encoded).toString()).toBe(JSON.stringify({ device, ts, values, units, seq }));
      }
    });

    it('fills a lease up to maxItems and maxBytes, but always with at least one item', async () => {
      const queue = await open();
      await queue.append(simReadings(10));

      const byItems = await queue.lease(4, 1024 ** 2);
      expect(byItems?.items).toHaveLength(4);
      const byBytes = await queue.lease(100, itemBytes * 3);
      expect(byBytes?.items).toHaveLength(3);
      expect(byBytes?.bytes).toBe(itemBytes * 3);
      const oversized = await queue.lease(100, 1);
      expect(oversized?.items.map((item) => item.gseq)).toEqual([8]);
    });

    it('never hands a leased item to another lease, and resolves null when all are leased', async () => {
      const queue = await open();
      await queue.append(simReadings(4));

      const first = await queue.lease(2, 1024 ** 2);
      const second = await queue.lease(10, 1024 ** 2);
      expect(first?.items.map((item) => item.gseq)).toEqual([1, 2]);
      expect(second?.items.map((item) => item.gseq)).toEqual([3, 4]);
      expect(await queue.lease(10, 1024 ** 2)).toBeNull();
      expect(queue.stats().inFlight).toBe(4);
    });

    it('deletes acked items and returns unsettled ones to the head, in order', async () => {
      const queue = await open();
      await queue.append(simReadings(6));
      const lease = (await queue.lease(4, 1024 ** 2))!;

      await queue.settle(lease, { ack: [1, 3] });

      const next = await queue.lease(10, 1024 ** 2);
      expect(next?.items.map((item) => item.gseq)).toEqual([2, 4, 5, 6]);
      expect(queue.stats()).toMatchObject({ depth: 4, acked: 2, inFlight: 4 });
    });

    it('returns several leases settled out of order to the head in their original order', async () => {
      const queue = await open();
      await queue.append(simReadings(7));
      const first = (await queue.lease(2, 1024 ** 2))!;
      const second = (await queue.lease(2, 1024 ** 2))!;
      const third = (await queue.lease(2, 1024 ** 2))!;

      await queue.settle(third, {});
      await queue.settle(first, { ack: [1] });
      await queue.settle(second, {});

      const next = await queue.lease(10, 1024 ** 2);
      expect(next?.items.map((item) => item.gseq)).toEqual([2, 3, 4, 5, 6, 7]);
    });

    it('moves rejected items to the dead letters with their reason and time', async () => {
      const queue = await open();
      await queue.append(simReadings(3));
      const lease = (await queue.lease(3, 1024 ** 2))!;
      clockMs += 5000;

      await queue.settle(lease, { ack: [1], reject: [{ gseq: 2, reason: 'message too large' }] });

      expect(await queue.deadLetters()).toEqual([
        { gseq: 2, reading: simReading(1), reason: 'message too large', at: START_MS + 5000 },
      ]);
      const next = await queue.lease(10, 1024 ** 2);
      expect(next?.items.map((item) => item.gseq)).toEqual([3]);
      expect(queue.stats()).toMatchObject({ depth: 1, deadLetters: 1, dropped: { rejected: 1 } });
    });

    it('replays dead letters under new sequence numbers and removes them from the dead letters', async () => {
      const queue = await open();
      await queue.append(simReadings(3));
      const lease = (await queue.lease(3, 1024 ** 2))!;
      await queue.settle(lease, {
        reject: [
          { gseq: 1, reason: 'malformed' },
          { gseq: 2, reason: 'malformed' },
          { gseq: 3, reason: 'malformed' },
        ],
      });

      expect(await queue.replayDeadLetters([2])).toBe(1);
      expect((await queue.deadLetters()).map((letter) => letter.gseq)).toEqual([1, 3]);
      expect(await queue.replayDeadLetters()).toBe(2);
      expect(await queue.deadLetters()).toEqual([]);

      const replayed = await queue.lease(10, 1024 ** 2);
      expect(replayed?.items.map(({ gseq, reading }) => ({ gseq, reading }))).toEqual([
        { gseq: 4, reading: simReading(1) },
        { gseq: 5, reading: simReading(0) },
        { gseq: 6, reading: simReading(2) },
      ]);
      expect(queue.stats().deadLetters).toBe(0);
    });

    it('lists at most `limit` dead letters', async () => {
      const queue = await open();
      await queue.append(simReadings(3));
      const lease = (await queue.lease(3, 1024 ** 2))!;
      await queue.settle(lease, { reject: lease.items.map((item) => ({ gseq: item.gseq, reason: 'bad' })) });

      expect((await queue.deadLetters(2)).map((letter) => letter.gseq)).toEqual([1, 2]);
    });

    it('leases the newest items first when asked, and the rest stay in FIFO order', async () => {
      const queue = await open();
      await queue.append(simReadings(6));

      const live = await queue.lease(2, 1024 ** 2, { newestFirst: true });
      expect(live?.items.map((item) => item.gseq)).toEqual([6, 5]);
      const backlog = await queue.lease(10, 1024 ** 2);
      expect(backlog?.items.map((item) => item.gseq)).toEqual([1, 2, 3, 4]);
    });

    it('drops items older than the TTL at lease time and counts them', async () => {
      const queue = await open({ ttlMs: 60_000 });
      await queue.append(simReadings(3, 0, START_MS - 120_000));
      await queue.append(simReadings(2, 3, START_MS - 1000));

      const lease = await queue.lease(10, 1024 ** 2);
      expect(lease?.items.map((item) => item.gseq)).toEqual([4, 5]);
      expect(queue.stats()).toMatchObject({ depth: 2, dropped: { ttl: 3 } });
    });

    it('resolves a lease with null when every item has expired', async () => {
      const queue = await open({ ttlMs: 1000 });
      await queue.append(simReadings(2));
      clockMs += 5000;

      expect(await queue.lease(10, 1024 ** 2)).toBeNull();
      expect(queue.stats()).toMatchObject({ depth: 0, bytes: 0, dropped: { ttl: 2 } });
    });

    it('under dropNewest, refuses what does not fit and keeps the old items', async () => {
      const queue = await open({ maxBytes: quotaFor(5), overflow: 'dropNewest' });
      expect(await queue.append(simReadings(3))).toEqual([1, 2, 3]);

      expect(await queue.append(simReadings(4, 3))).toEqual([4, 5]);
      const lease = await queue.lease(10, 1024 ** 2);
      expect(lease?.items.map((item) => item.reading.seq)).toEqual([1000, 1001, 1002, 1003, 1004]);
      expect(queue.stats()).toMatchObject({ depth: 5, bytes: quotaFor(5), dropped: { quota: 2 } });
    });

    it('under dropOldest, evicts from the head to make room and counts the evicted items', async () => {
      const queue = await open({ maxBytes: quotaFor(5), overflow: 'dropOldest' });
      await queue.append(simReadings(5));

      expect(await queue.append(simReadings(2, 5))).toEqual([6, 7]);
      const lease = await queue.lease(10, 1024 ** 2);
      expect(lease?.items.map((item) => item.gseq)).toEqual([3, 4, 5, 6, 7]);
      expect(queue.stats()).toMatchObject({ depth: 5, bytes: quotaFor(5), dropped: { quota: 2 } });
    });

    it('under dropOldest, never evicts leased items', async () => {
      const queue = await open({ maxBytes: quotaFor(3), overflow: 'dropOldest' });
      await queue.append(simReadings(3));
      const inFlight = (await queue.lease(2, 1024 ** 2))!;

      expect(await queue.append(simReadings(2, 3))).toEqual([4]);
      await queue.settle(inFlight, { ack: [1, 2] });
      const rest = await queue.lease(10, 1024 ** 2);
      expect(rest?.items.map((item) => item.gseq)).toEqual([4]);
      expect(queue.stats().dropped.quota).toBe(2);
    });

    it('under block, makes append wait until acks free space', async () => {
      const queue = await open({ maxBytes: quotaFor(2), overflow: 'block' });
      await queue.append(simReadings(2));
      let appended: number[] | undefined;
      const blocked = queue.append(simReadings(1, 2)).then((seqs) => (appended = seqs));

      const lease = (await queue.lease(1, 1024 ** 2))!;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(appended).toBeUndefined();
      await queue.settle(lease, { ack: [1] });

      expect(await blocked).toEqual([3]);
      expect(queue.stats()).toMatchObject({ depth: 2, dropped: { quota: 0 } });
    });

    it('reports depth, bytes, in-flight items, the oldest age and the next sequence number', async () => {
      const queue = await open();
      expect(queue.stats()).toMatchObject({ depth: 0, bytes: 0, inFlight: 0, oldestAgeMs: 0, nextSeq: 1 });

      await queue.append(simReadings(3, 0, START_MS - 30_000));
      await queue.lease(1, 1024 ** 2);

      expect(queue.stats()).toEqual({
        depth: 3,
        bytes: quotaFor(3),
        inFlight: 1,
        oldestAgeMs: 30_000,
        dropped: { quota: 0, diskFull: 0, ttl: 0, rejected: 0, writeFailed: 0 },
        deadLetters: 0,
        appended: 3,
        acked: 0,
        nextSeq: 4,
      });
    });

    it('wakes waitForItems on an append, on returned items, and on abort, and not before', async () => {
      const queue = await open();
      const never = new AbortController();
      /** Whether `promise` has settled, after letting pending callbacks run. */
      const hasSettled = async (promise: Promise<unknown>): Promise<boolean> => {
        let settled = false;
        void promise.then(
          () => (settled = true),
          () => (settled = true),
        );
        for (let i = 0; i < 10; i++) await Promise.resolve();
        return settled;
      };

      const onAppend = queue.waitForItems(never.signal);
      expect(await hasSettled(onAppend)).toBe(false);
      await queue.append(simReadings(1));
      await onAppend;

      const lease = (await queue.lease(10, 1024 ** 2))!;
      const onReturn = queue.waitForItems(never.signal);
      expect(await hasSettled(onReturn)).toBe(false);
      await queue.settle(lease, {});
      await onReturn;
      expect((await queue.lease(10, 1024 ** 2))?.items).toHaveLength(1);

      const aborting = new AbortController();
      const onAbort = queue.waitForItems(aborting.signal);
      expect(await hasSettled(onAbort)).toBe(false);
      aborting.abort();
      expect(await hasSettled(onAbort)).toBe(true);
    });

    it('rejects every call with FG_QUEUE_CLOSED after close', async () => {
      const queue = await open();
      await queue.append(simReadings(1));
      const lease = (await queue.lease(1, 1024 ** 2))!;
      await queue.close();

      const calls = [
        queue.append(simReadings(1)),
        queue.lease(1, 1024),
        queue.settle(lease, { ack: [1] }),
        queue.waitForItems(new AbortController().signal),
        queue.deadLetters(),
        queue.replayDeadLetters(),
      ];
      for (const call of calls) {
        await expect(call).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_CLOSED'));
      }
    });
  });
}
