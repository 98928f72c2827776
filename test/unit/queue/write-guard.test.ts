import { describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { WriteGuard } from '../../../src/queue/write-guard.js';

const MiB = 1024 ** 2;
const enospc = () => new Error('IO error: /var/lib/fieldgate/queue/000003.log: No space left on device');

/** A guard over a fake disk: `free` bytes, and a record of what reached "LevelDB". */
function setup(options: { probeFails?: boolean } = {}) {
  const disk = { free: 0, now: 1_000_000, calls: [] as string[] };
  const guard = new WriteGuard({
    freeBytes: () => Promise.resolve(disk.free),
    headroomBytes: 8 * MiB,
    rollLog: () => {
      disk.calls.push('roll');
      return Promise.resolve();
    },
    probe: () => {
      disk.calls.push('probe');
      return options.probeFails === true ? Promise.reject(new Error('IO error: sticky')) : Promise.resolve();
    },
    log: silentLogger(),
    now: () => disk.now,
  });
  const write = (outcome: 'ok' | Error = 'ok') =>
    guard.run(() => {
      disk.calls.push('write');
      return outcome === 'ok' ? Promise.resolve('written') : Promise.reject(outcome);
    });
  return { disk, guard, write };
}

describe('WriteGuard', () => {
  it('lets writes through while they succeed', async () => {
    const { guard, write, disk } = setup();
    await expect(write()).resolves.toBe('written');
    expect(guard.health).toEqual({ state: 'ok' });
    expect(disk.calls).toEqual(['write']);
  });

  it('after a failed write, refuses the next ones without touching the database while the disk is full', async () => {
    const { guard, write, disk } = setup();
    await expect(write(enospc())).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_NO_SPACE'));
    expect(guard.health).toMatchObject({
      state: 'failing',
      since: 1_000_000,
      reason: expect.stringMatching(/No space/) as unknown,
    });
    disk.calls.length = 0;
    for (let i = 0; i < 3; i++) {
      disk.now += 1500;
      await expect(write()).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_NO_SPACE'));
    }
    // Nothing was written after the failure: a record after a torn one would be lost at the next open.
    expect(disk.calls).toEqual([]);
  });

  it('once there is room, rolls the log and probes before the next write, then writes normally', async () => {
    const { guard, write, disk } = setup();
    await expect(write(enospc())).rejects.toThrow();
    disk.free = 100 * MiB;
    disk.now += 1500;
    disk.calls.length = 0;
    await expect(write()).resolves.toBe('written');
    expect(disk.calls).toEqual(['roll', 'probe', 'write']);
    expect(guard.health).toEqual({ state: 'ok' });
  });

  it('tries to recover at most once a second', async () => {
    const { write, disk } = setup();
    await expect(write(enospc())).rejects.toThrow();
    disk.free = 100 * MiB;
    disk.now += 200; // too soon after the failure
    await expect(write()).rejects.toThrow();
    expect(disk.calls).toEqual(['write']);
    disk.now += 1000;
    await expect(write()).resolves.toBe('written');
  });

  it('when LevelDB still refuses after the roll, asks once for a restart and refuses every write after', async () => {
    const { guard, write, disk } = setup({ probeFails: true });
    const restarts: string[] = [];
    guard.onNeedsRestart((reason) => restarts.push(reason));
    await expect(write(enospc())).rejects.toThrow();
    disk.free = 100 * MiB;
    disk.now += 1500;
    await expect(write()).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_WRITE_FAILED'));
    disk.now += 1500;
    await expect(write()).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_WRITE_FAILED'));
    expect(restarts).toEqual(['IO error: sticky']);
    expect(guard.health).toMatchObject({ state: 'needsRestart', reason: 'IO error: sticky' });
    expect(disk.calls.filter((c) => c === 'roll')).toHaveLength(1);
  });

  it('reports an I/O error that is not a full disk as FG_QUEUE_WRITE_FAILED', async () => {
    const { write } = setup();
    await expect(write(new Error('IO error: 000012.log: Input/output error'))).rejects.toSatisfy(
      (e: unknown) => isFieldgateError(e, 'FG_QUEUE_WRITE_FAILED') && /Input\/output error/.test(e.message),
    );
  });

  it('recovers once for many writers waiting at the same time', async () => {
    const { write, disk } = setup();
    await expect(write(enospc())).rejects.toThrow();
    disk.free = 100 * MiB;
    disk.now += 1500;
    disk.calls.length = 0;
    await Promise.all([write(), write(), write()]);
    expect(disk.calls).toEqual(['roll', 'probe', 'write', 'write', 'write']);
  });
});
