import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../../src/upstream/common/rate-limiter.js';

/** A clock that only moves when the limiter sleeps, and the sleeps it asked for. */
function injectedTime(): { now: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let nowMs = 0;
  const sleeps: number[] = [];
  return {
    now: () => nowMs,
    sleep: (ms) => {
      sleeps.push(ms);
      nowMs += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

describe('RateLimiter', () => {
  it('lets a burst through, then makes the next caller wait for a token', async () => {
    const time = injectedTime();
    const limiter = new RateLimiter({ perSecond: 2, ...time });
    const signal = new AbortController().signal;
    await limiter.take(signal);
    await limiter.take(signal);
    expect(time.sleeps).toEqual([]);

    await limiter.take(signal);
    expect(time.sleeps).toEqual([500]); // half a second refills one token at 2/s
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
    const time = injectedTime();
    const limiter = new RateLimiter({ perSecond: Infinity, ...time });
    const signal = new AbortController().signal;
    for (let i = 0; i < 1000; i++) await limiter.take(signal);
    expect(time.sleeps).toEqual([]);
  });
});
