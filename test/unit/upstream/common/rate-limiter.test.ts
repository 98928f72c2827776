import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/upstream/common/rate-limiter.js';

describe('RateLimiter', () => {
  it('lets a burst through, then makes the next caller wait for a token', async () => {
    let nowMs = 0;
    const limiter = new RateLimiter({ perSecond: 2, now: () => nowMs });
    const signal = new AbortController().signal;
    await limiter.take(signal);
    await limiter.take(signal);

    let isThrough = false;
    const third = limiter.take(signal).then(() => (isThrough = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(isThrough).toBe(false);
    nowMs += 500; // half a second refills one token at 2/s
    await third;
    expect(isThrough).toBe(true);
  });

  it('rejects a waiting caller when its signal aborts', async () => {
    const limiter = new RateLimiter({ perSecond: 1, now: () => 0 });
    const controller = new AbortController();
    await limiter.take(controller.signal);
    const waiting = limiter.take(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
  });

  it('never waits when the rate is unbounded', async () => {
    const limiter = new RateLimiter({ perSecond: Infinity, now: () => 0 });
    const signal = new AbortController().signal;
    for (let i = 0; i < 1000; i++) await limiter.take(signal);
  });
});
