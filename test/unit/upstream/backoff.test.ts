import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/upstream/backoff.js';

/** A random source that replays fixed values, so each delay is known. */
const fixed =
  (...values: number[]) =>
  (): number =>
    values.length > 1 ? values.shift()! : values[0]!;

describe('Backoff', () => {
  it('grows from initialMs towards maxMs and never leaves that range', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(1) });
    // With random at its top, each delay is 3× the previous one, capped.
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([100, 300, 900, 2000, 2000]);
  });

  it('never retries faster than initialMs, even with the lowest jitter', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(0) });
    expect([1, 2, 3].map(() => backoff.next())).toEqual([100, 100, 100]);
  });

  it('spreads delays between initialMs and three times the previous delay', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 10_000, random: fixed(1, 1, 0.5) });
    backoff.next(); // 100
    backoff.next(); // 300
    expect(backoff.next()).toBe(100 + 0.5 * (900 - 100));
  });

  it('starts over after reset()', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(1) });
    backoff.next();
    backoff.next();
    expect(backoff.attempts).toBe(2);
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(100);
  });

  it('waits at least as long as the server asked, even beyond maxMs', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(0) });
    expect(backoff.next({ retryAfterMs: 5000 })).toBe(5000);
    expect(backoff.next({ retryAfterMs: 50 })).toBeGreaterThanOrEqual(100);
  });

  it('pauses in the upper half of the range after a kick', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(0) });
    const high = new Backoff({ initialMs: 100, maxMs: 2000, random: fixed(1) });
    expect(low.next({ kicked: true })).toBe(1000);
    expect(high.next({ kicked: true })).toBe(2000);
  });
});
