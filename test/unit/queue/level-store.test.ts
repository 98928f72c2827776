import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { LevelQueueStore, type QueueStoreOptions } from '../../../src/queue/level-store.js';
import { simReadings } from '../../contract/queue.contract.js';

const BIG = 1024 ** 3;

describe('LevelQueueStore', () => {
  let root: string;
  let dir: string;
  const stores: LevelQueueStore[] = [];

  async function openStore(options: Partial<QueueStoreOptions> = {}): Promise<LevelQueueStore> {
    const store = await LevelQueueStore.open({
      dir,
      commitIntervalMs: 5,
      commitMaxItems: 1000,
      durability: 'relaxed',
      maxBytes: BIG,
      minFreeBytes: 0,
      overflow: 'dropOldest',
      log: silentLogger(),
      ...options,
    });
    stores.push(store);
    return store;
  }

  async function waitFor(condition: () => boolean): Promise<void> {
    for (let attempt = 0; !condition(); attempt++) {
      if (attempt > 3000) throw new Error('condition not met');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'fieldgate-store-'));
    dir = path.join(root, 'queue');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    vi.restoreAllMocks();
    await rm(root, { recursive: true, force: true });
  });

  describe('across a restart', () => {
    it('redelivers every unacked item with its sequence number', async () => {
      const before = await openStore();
      const queue = await before.queue('cloud', { ttlMs: 0 });
      await queue.append(simReadings(5));
      const lease = (await queue.lease(3, BIG))!;
      await queue.settle(lease, { ack: [1] });
      await queue.lease(10, BIG); // in flight when the process "dies": never settled
      await before.close();

      const after = await (await openStore()).queue('cloud', { ttlMs: 0 });
      const redelivered = await after.lease(10, BIG);
      expect(redelivered?.items.map((item) => item.gseq)).toEqual([2, 3, 4, 5]);
      expect(redelivered?.items.map((item) => item.reading)).toEqual(simReadings(4, 1));
      expect(after.stats()).toMatchObject({ depth: 4, nextSeq: 6 });
    });

    it('continues the sequence after the newest items were acked', async () => {
      const before = await openStore();
      const queue = await before.queue('cloud', { ttlMs: 0 });
      await queue.append(simReadings(5));
      const live = (await queue.lease(2, BIG, { newestFirst: true }))!;
      await queue.settle(live, { ack: [4, 5] });
      await before.close();

      const after = await (await openStore()).queue('cloud', { ttlMs: 0 });
      expect(await after.append(simReadings(1))).toEqual([6]);
    });

    it('commits pending appends on close', async () => {
      const before = await openStore({ commitIntervalMs: 60_000 });
      const queue = await before.queue('cloud', { ttlMs: 0 });
      const appended = queue.append(simReadings(3));
      await before.close();
      expect(await appended).toEqual([1, 2, 3]);

      const after = await (await openStore()).queue('cloud', { ttlMs: 0 });
      expect(after.stats()).toMatchObject({ depth: 3, bytes: expect.any(Number) as number });
      expect((await after.lease(10, BIG))?.items).toHaveLength(3);
    });

    it('finds the head after 10,000 acked items without reading past tombstones', async () => {
      const before = await openStore();
      const queue = await before.queue('cloud', { ttlMs: 0 });
      for (let batch = 0; batch < 10; batch++) await queue.append(simReadings(1000, batch * 1000));
      for (let lease = await queue.lease(1000, BIG); lease !== null; lease = await queue.lease(1000, BIG)) {
        await queue.settle(lease, { ack: lease.items.map((item) => item.gseq) });
      }
      await queue.append(simReadings(1, 10_000));
      await waitFor(() => before.io().compactions > 0);
      await before.close();
      // White-box: the head is found from the cursor persisted with the deletes.
      const raw = new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' });
      expect(await raw.get('!queue!!cloud!!meta!position')).toEqual({ cursor: 10_000, lastSeq: 10_000 });
      await raw.close();

      const after = await openStore();
      const reopened = await after.queue('cloud', { ttlMs: 0 });
      const head = await reopened.lease(10, BIG);
      expect(head?.items.map((item) => item.gseq)).toEqual([10_001]);
      expect(after.io().keysRead).toBeLessThanOrEqual(3);
    });
  });

  describe('group commit', () => {
    it('writes many concurrent appends in a few batches', async () => {
      const store = await openStore({ commitIntervalMs: 50 });
      const queue = await store.queue('cloud', { ttlMs: 0 });

      const seqs = await Promise.all(simReadings(200).map((reading) => queue.append([reading])));

      expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(store.io().commits).toBeGreaterThan(0);
      expect(store.io().commits).toBeLessThan(20);
    });

    it('commits as soon as commitMaxItems wait, without waiting for the interval', async () => {
      const store = await openStore({ commitIntervalMs: 600_000, commitMaxItems: 10 });
      const queue = await store.queue('cloud', { ttlMs: 0 });

      expect(await queue.append(simReadings(10))).toHaveLength(10);
      expect(store.io().commits).toBe(1);
    });

    it('wakes waitForItems only once appended items are committed', async () => {
      const store = await openStore({ commitIntervalMs: 600_000, commitMaxItems: 2 });
      const queue = await store.queue('cloud', { ttlMs: 0 });
      const first = queue.append(simReadings(1));
      let isWoken = false;
      const woken = queue.waitForItems(new AbortController().signal).then(() => (isWoken = true));

      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(isWoken).toBe(false);
      await queue.append(simReadings(1, 1));
      await Promise.all([first, woken]);
      expect((await queue.lease(10, BIG))?.items).toHaveLength(2);
    });

    it('fsyncs each commit only under durability sync', async () => {
      const batch = vi.spyOn(ClassicLevel.prototype, 'batch');
      for (const durability of ['sync', 'relaxed'] as const) {
        batch.mockClear();
        dir = path.join(root, durability);
        const queue = await (await openStore({ durability })).queue('cloud', { ttlMs: 0 });
        await queue.append(simReadings(3));
        expect(batch).toHaveBeenCalledWith(expect.any(Array), { sync: durability === 'sync' });
      }
    });
  });

  describe('space', () => {
    it('shares the byte quota between routes', async () => {
      const probe = await (await openStore()).queue('probe', { ttlMs: 0 });
      await probe.append(simReadings(1));
      const itemBytes = probe.stats().bytes;
      await stores.pop()!.close();
      await rm(dir, { recursive: true });

      const store = await openStore({ maxBytes: itemBytes * 4, overflow: 'dropNewest' });
      const a = await store.queue('a', { ttlMs: 0 });
      const b = await store.queue('b', { ttlMs: 0 });
      await a.append(simReadings(3));

      expect(await b.append(simReadings(3))).toEqual([1]);
      expect(store.storageBytes()).toBe(itemBytes * 4);
      expect(b.stats().dropped.quota).toBe(2);
    });

    it('applies the free-space watermark, reading free space at most once a second', async () => {
      let clockMs = 1_700_000_000_000;
      let diskFreeBytes = 1000;
      let statfsCalls = 0;
      const store = await openStore({
        minFreeBytes: 64 * 1024 ** 2,
        overflow: 'dropNewest',
        now: () => clockMs,
        freeBytes: () => {
          statfsCalls++;
          return Promise.resolve(diskFreeBytes);
        },
      });
      const queue = await store.queue('cloud', { ttlMs: 0 });

      for (let i = 0; i < 5; i++) expect(await queue.append(simReadings(2))).toEqual([]);
      expect(statfsCalls).toBe(1);
      expect(queue.stats().dropped.diskFull).toBe(10);

      diskFreeBytes = 1024 ** 3;
      clockMs += 1000;
      expect(await queue.append(simReadings(2))).toEqual([1, 2]);
    });
  });

  describe('damage', () => {
    it('repairs a database whose MANIFEST is garbage, keeping its items', async () => {
      const before = await (await openStore()).queue('cloud', { ttlMs: 0 });
      await before.append(simReadings(3));
      await stores.pop()!.close();
      for (const file of await readdir(dir)) {
        if (file.startsWith('MANIFEST')) await writeFile(path.join(dir, file), 'not a manifest');
      }

      const store = await openStore({ now: () => 1234 });
      expect(store.quarantine).toBeUndefined();
      expect((await store.queue('cloud', { ttlMs: 0 })).stats().depth).toBe(3);
      // Repaired on a copy; the database as found is kept beside it, untouched.
      expect(store.repair).toMatchObject({ keptPath: `${dir}.before-repair-1234`, damagedTables: [] });
      expect((await readdir(root)).sort()).toEqual(['queue', 'queue.before-repair-1234']);
      for (const file of await readdir(`${dir}.before-repair-1234`)) {
        if (file.startsWith('MANIFEST')) {
          expect(await readFile(path.join(`${dir}.before-repair-1234`, file), 'utf8')).toBe('not a manifest');
        }
      }
    });

    it('starts on a database whose table file was cut short (LevelDB would only fail on the first read)', async () => {
      const before = await (await openStore()).queue('cloud', { ttlMs: 0 });
      for (let i = 0; i < 20; i++) await before.append(simReadings(50));
      await stores.pop()!.close();
      // Reopening turns the write-ahead log into a table file; then cut that table in half, as a power cut might.
      await openStore();
      await stores.pop()!.close();
      const tables = (await readdir(dir)).filter((file) => file.endsWith('.ldb'));
      expect(tables.length).toBeGreaterThan(0);
      for (const table of tables) {
        const bytes = await readFile(path.join(dir, table));
        await writeFile(path.join(dir, table), bytes.subarray(0, Math.floor(bytes.length / 2)));
      }

      const store = await openStore();
      const queue = await store.queue('cloud', { ttlMs: 0 });
      expect(await queue.append(simReadings(1))).toHaveLength(1);
    });

    it('refuses, touching nothing, when the queue path is not a directory', async () => {
      await writeFile(dir, 'this should have been a directory');

      await expect(openStore({ now: () => 1234 })).rejects.toSatisfy((e: unknown) =>
        isFieldgateError(e, 'FG_QUEUE_UNREADABLE'),
      );
      expect(await readdir(root)).toEqual(['queue']);
      expect(await readFile(dir, 'utf8')).toBe('this should have been a directory');
    });

    it('refuses with FG_QUEUE_UNREADABLE, and repairs nothing, when a table file is missing', async () => {
      const before = await (await openStore()).queue('cloud', { ttlMs: 0 });
      for (let i = 0; i < 20; i++) await before.append(simReadings(50));
      await stores.pop()!.close();
      await openStore(); // the log becomes a table
      await stores.pop()!.close();
      const table = (await readdir(dir)).find((file) => file.endsWith('.ldb'))!;
      await rm(path.join(dir, table));
      const files = (await readdir(dir)).sort();

      const refused = await openStore().catch((e: unknown) => e);
      expect(isFieldgateError(refused, 'FG_QUEUE_UNREADABLE')).toBe(true);
      expect((refused as Error).message).toContain(table);
      expect(await readdir(root)).toEqual(['queue']);
      expect((await readdir(dir)).sort()).toEqual(files);
    });

    it('refuses with FG_QUEUE_LOCKED, and quarantines nothing, when another process holds the database', async () => {
      const first = await openStore();
      const queue = await first.queue('cloud', { ttlMs: 0 });
      await queue.append(simReadings(1));

      await expect(openStore()).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_LOCKED'));
      expect(await readdir(root)).toEqual(['queue']);
      expect(queue.stats().depth).toBe(1);
    });
  });

  describe('a failed write (a full filesystem)', () => {
    const enospc = () => new Error('IO error: 000003.log: No space left on device');
    /** LevelDB's own batch write, under fieldgate's guard: what a full disk makes fail. */
    const leveldbBatch = () =>
      vi.spyOn(ClassicLevel.prototype as unknown as { _batch: () => Promise<void> }, '_batch');

    it('refuses appends, counted as writeFailed, until there is room again, and keeps every commit that succeeded', async () => {
      const disk = { free: 0, now: 1_000_000 };
      const options = { freeBytes: () => Promise.resolve(disk.free), now: () => disk.now };
      const store = await openStore(options);
      const queue = await store.queue('cloud', { ttlMs: 0 });
      const stored = await queue.append(simReadings(5));
      const batch = leveldbBatch().mockRejectedValueOnce(enospc());
      await expect(queue.append(simReadings(3))).rejects.toSatisfy((e: unknown) =>
        isFieldgateError(e, 'FG_QUEUE_NO_SPACE'),
      );
      expect(store.writeHealth()).toMatchObject({
        state: 'failing',
        reason: expect.stringMatching(/No space/) as unknown,
      });
      // Still full: refused before LevelDB sees it (a write after a torn log record is lost at the next open).
      disk.now += 2000;
      const callsBefore = batch.mock.calls.length;
      await expect(queue.append(simReadings(2))).rejects.toThrow(/full/);
      expect(batch.mock.calls.length).toBe(callsBefore);
      expect(queue.stats().dropped.writeFailed).toBe(5);

      disk.free = BIG;
      disk.now += 2000;
      stored.push(...(await queue.append(simReadings(4))));
      expect(store.writeHealth()).toEqual({ state: 'ok' });
      await store.close();

      const reopened = await (await openStore()).queue('cloud', { ttlMs: 0 });
      const lease = await reopened.lease(100, BIG);
      expect(lease?.items.map((e) => e.gseq)).toEqual(stored);
    });

    it('makes a lease whose settlement could not be written available again', async () => {
      const disk = { now: 1_000_000 };
      const store = await openStore({ freeBytes: () => Promise.resolve(BIG), now: () => disk.now });
      const queue = await store.queue('cloud', { ttlMs: 0 });
      const gseqs = await queue.append(simReadings(10));
      const first = await queue.lease(100, BIG);
      leveldbBatch().mockRejectedValueOnce(enospc());
      await expect(queue.settle(first!, { ack: gseqs })).rejects.toThrow();

      disk.now += 2000;
      const again = await queue.lease(100, BIG);
      expect(again?.items.map((e) => e.gseq)).toEqual(gseqs);
      await queue.settle(again!, { ack: gseqs });
      expect(queue.stats().depth).toBe(0);
    });
  });

  it('keeps other state in sublevels apart from the queues, across restarts', async () => {
    const before = await openStore();
    await before.sublevel<{ command: string }>('commands').put('zwave:1-5', { command: 'lock' });
    const queue = await before.queue('cloud', { ttlMs: 0 });
    await before.close();

    await expect(queue.lease(1, BIG)).rejects.toSatisfy((e: unknown) =>
      isFieldgateError(e, 'FG_QUEUE_CLOSED'),
    );
    const after = await openStore();
    expect(await after.sublevel('commands').get('zwave:1-5')).toEqual({ command: 'lock' });
    expect((await after.queue('cloud', { ttlMs: 0 })).stats().depth).toBe(0);
  });
});
