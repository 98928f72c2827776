import { describe, expect, it } from 'vitest';
import { LEVELDB_RESERVE_BYTES, SpaceQuota, WRITE_AMPLIFICATION } from '../../../src/queue/space-quota.js';

const MiB = 1024 ** 2;

describe('SpaceQuota free-space floor', () => {
  function quota(freeBytes: () => number, minFreeBytes = 10 * MiB) {
    let clockMs = 0;
    const q = new SpaceQuota({
      maxBytes: 1024 * MiB,
      minFreeBytes,
      freeBytes: () => Promise.resolve(freeBytes()),
      now: () => clockMs,
    });
    return { q, tick: (ms: number) => (clockMs += ms) };
  }

  it('counts what was taken since the last free-space reading, as LevelDB will write it', async () => {
    // Exactly enough for one MiB above the floor and LevelDB's reserve.
    const free = 10 * MiB + LEVELDB_RESERVE_BYTES + WRITE_AMPLIFICATION * MiB;
    const { q } = quota(() => free);
    expect(await q.shortfall(MiB)).toBeNull();
    q.take(MiB);
    // The reading is cached (statfs is not called per append): the MiB just taken is not in it.
    expect(await q.shortfall(MiB)).toEqual({ reason: 'diskFull', bytes: MiB });
  });

  it('never admits an append that would take the filesystem below the floor', async () => {
    let free = 30 * MiB;
    const { q, tick } = quota(() => free);
    const floor = 10 * MiB;
    for (let i = 0; i < 200; i++) {
      const bytes = 256 * 1024;
      if ((await q.shortfall(bytes)) === null) {
        q.take(bytes);
        free -= WRITE_AMPLIFICATION * bytes; // what LevelDB writes, eventually
      }
      expect(free).toBeGreaterThanOrEqual(floor);
      if (i % 10 === 0) tick(1000);
    }
    expect(free).toBeLessThan(floor + LEVELDB_RESERVE_BYTES + MiB);
  });

  it('trusts a fresh reading again once space is back', async () => {
    let free = 0;
    const { q, tick } = quota(() => free);
    expect(await q.shortfall(1000)).not.toBeNull();
    free = 1024 * MiB;
    tick(1000);
    expect(await q.shortfall(1000)).toBeNull();
  });
});
