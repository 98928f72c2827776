import { describe, expect, it } from 'vitest';
import { isFieldgateError } from '../../../src/errors.js';
import { admit, type AdmissionRequest } from '../../../src/queue/admission.js';
import { SpaceQuota } from '../../../src/queue/space-quota.js';

function request(overrides: Partial<AdmissionRequest> & { quota: SpaceQuota }): AdmissionRequest {
  return {
    sizes: [10, 10, 10],
    policy: 'dropNewest',
    evictOldest: () => Promise.resolve(0),
    signal: new AbortController().signal,
    ...overrides,
  };
}

function quotaWith(options: {
  maxBytes: number;
  usedBytes?: number;
  freeBytes?: number;
  minFreeBytes?: number;
}): SpaceQuota {
  const quota = new SpaceQuota({
    maxBytes: options.maxBytes,
    minFreeBytes: options.minFreeBytes ?? 0,
    freeBytes: () => Promise.resolve(options.freeBytes ?? Number.POSITIVE_INFINITY),
    now: () => 0,
  });
  quota.take(options.usedBytes ?? 0);
  return quota;
}

describe('admit', () => {
  it('takes everything that fits and counts its bytes', async () => {
    const quota = quotaWith({ maxBytes: 100 });
    expect(await admit(request({ quota }))).toEqual({ accepted: 3, dropped: 0, reason: 'quota' });
    expect(quota.usedBytes).toBe(30);
  });

  it('under dropNewest, keeps the front of the batch that fits', async () => {
    const quota = quotaWith({ maxBytes: 100, usedBytes: 85 });
    expect(await admit(request({ quota }))).toEqual({ accepted: 1, dropped: 2, reason: 'quota' });
    expect(quota.usedBytes).toBe(95);
  });

  it('under dropNewest, refuses everything while the disk is below its watermark', async () => {
    const quota = quotaWith({ maxBytes: 100, freeBytes: 5, minFreeBytes: 50 });
    expect(await admit(request({ quota }))).toEqual({ accepted: 0, dropped: 3, reason: 'diskFull' });
  });

  it('under dropOldest, asks to evict exactly the excess and then takes the batch', async () => {
    const quota = quotaWith({ maxBytes: 100, usedBytes: 90 });
    const asked: unknown[] = [];
    const evictOldest = (bytes: number, reason: string): Promise<number> => {
      asked.push([bytes, reason]);
      quota.release(bytes);
      return Promise.resolve(bytes);
    };

    expect(await admit(request({ quota, policy: 'dropOldest', evictOldest }))).toMatchObject({
      accepted: 3,
      dropped: 0,
    });
    expect(asked).toEqual([[20, 'quota']]);
  });

  it('under dropOldest on a full disk, takes only as much as was evicted', async () => {
    const quota = quotaWith({ maxBytes: 100, freeBytes: 5, minFreeBytes: 50 });
    const evictOldest = (): Promise<number> => Promise.resolve(20);

    expect(await admit(request({ quota, policy: 'dropOldest', evictOldest }))).toEqual({
      accepted: 2,
      dropped: 1,
      reason: 'diskFull',
    });
  });

  it('under block, waits for released space', async () => {
    const quota = quotaWith({ maxBytes: 30, usedBytes: 30 });
    const admitted = admit(request({ quota, policy: 'block' }));
    quota.release(30);
    expect(await admitted).toEqual({ accepted: 3, dropped: 0, reason: 'quota' });
  });

  it('under block, drops what could never fit rather than waiting forever', async () => {
    const quota = quotaWith({ maxBytes: 25 });
    expect(await admit(request({ quota, policy: 'block' }))).toEqual({
      accepted: 2,
      dropped: 1,
      reason: 'quota',
    });
  });

  it('under block, rejects with FG_QUEUE_CLOSED when the queue closes while waiting', async () => {
    const quota = quotaWith({ maxBytes: 30, usedBytes: 30 });
    const closing = new AbortController();
    const admitted = admit(request({ quota, policy: 'block', signal: closing.signal }));
    closing.abort();
    await expect(admitted).rejects.toSatisfy((e: unknown) => isFieldgateError(e, 'FG_QUEUE_CLOSED'));
  });
});
