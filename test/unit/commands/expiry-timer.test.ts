import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryTimer } from '../../../src/commands/expiry-timer.js';

// Fake timers: the contract is about which deadline the one timer follows, not about wall-clock time.
describe('ExpiryTimer', () => {
  let fired: number[];
  let timer: ExpiryTimer;

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    fired = [];
    timer = new ExpiryTimer(() => fired.push(Date.now()), Date.now);
  });
  afterEach(() => {
    timer.stop();
    vi.useRealTimers();
  });

  it('follows the earliest deadline it was asked for; a later one does not postpone it', () => {
    timer.arm(1_005_000);
    timer.arm(1_002_000);
    timer.arm(1_009_000);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([1_002_000]);
  });

  it('can be armed again once it fired, for a deadline later than the first', () => {
    timer.arm(1_001_000);
    vi.advanceTimersByTime(1_000);
    timer.arm(1_003_000);
    vi.advanceTimersByTime(5_000);
    expect(fired).toEqual([1_001_000, 1_003_000]);
  });

  it('fires at once for a deadline already past, and never after stop', () => {
    timer.arm(999_000);
    vi.advanceTimersByTime(0);
    expect(fired).toEqual([1_000_000]);
    timer.arm(1_001_000);
    timer.stop();
    timer.arm(1_002_000);
    vi.advanceTimersByTime(10_000);
    expect(fired).toEqual([1_000_000]);
  });
});
