import { describe, expect, it } from 'vitest';
import { Reopener, reopenDelayMs, type ScheduleTimer } from '../../../adapters/reopen.js';

/** A timer queue run by hand: `due` lists pending delays, `fire()` runs the oldest pending task. */
function manualTimers(): { schedule: ScheduleTimer; due: number[]; fire(): void } {
  const pending: { task: () => void; delayMs: number }[] = [];
  return {
    schedule: (task, delayMs) => {
      const entry = { task, delayMs };
      pending.push(entry);
      return () => pending.splice(pending.indexOf(entry), 1);
    },
    get due() {
      return pending.map((entry) => entry.delayMs);
    },
    fire() {
      const entry = pending.shift();
      entry?.task();
    },
  };
}

const LIMITS = { initialMs: 1000, maxMs: 60_000 };

describe('reopenDelayMs (equal jitter)', () => {
  it.each([
    [0, 0, 500],
    [0, 0.999_999, 1000],
    [1, 0, 1000],
    [3, 0.5, 6000],
    [6, 0, 30_000],
    [6, 0.999_999, 60_000],
    [40, 0.5, 45_000],
  ])('attempt %i with random %d waits %i ms', (attempt, random, expectedMs) => {
    expect(reopenDelayMs(attempt, LIMITS, () => random)).toBe(expectedMs);
  });

  it('never waits less than half the plain exponential delay, nor more than it', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const capMs = Math.min(LIMITS.maxMs, LIMITS.initialMs * 2 ** attempt);
      for (const random of [0, 0.25, 0.5, 0.75, 0.999]) {
        const delayMs = reopenDelayMs(attempt, LIMITS, () => random);
        expect(delayMs).toBeGreaterThanOrEqual(capMs / 2);
        expect(delayMs).toBeLessThanOrEqual(capMs);
      }
    }
  });
});

describe('Reopener', () => {
  it('backs off on each failure, starts over after a success, and runs the attempt when due', () => {
    const timers = manualTimers();
    const reopener = new Reopener(LIMITS, { random: () => 0.999_999, schedule: timers.schedule });
    let attempts = 0;
    expect(reopener.retry(() => attempts++)).toBe(1000);
    expect(reopener.failures).toBe(1);
    timers.fire();
    expect(attempts).toBe(1);
    expect(reopener.retry(() => attempts++)).toBe(2000);
    expect(reopener.retry(() => attempts++)).toBe(4000);
    // A newer retry replaces the pending one: one attempt at a time.
    expect(timers.due).toEqual([4000]);
    reopener.succeeded();
    expect(reopener.failures).toBe(0);
    expect(reopener.retry(() => attempts++)).toBe(1000);
  });

  it('runs nothing after stop, neither a pending attempt nor a later retry', () => {
    const timers = manualTimers();
    const reopener = new Reopener(LIMITS, { random: () => 0, schedule: timers.schedule });
    let attempts = 0;
    reopener.retry(() => attempts++);
    reopener.stop();
    expect(timers.due).toEqual([]);
    expect(reopener.retry(() => attempts++)).toBeUndefined();
    expect(timers.due).toEqual([]);
    expect(attempts).toBe(0);
  });

  it('drops an attempt whose timer fires after stop', () => {
    // A timer that cannot be cancelled (already firing) must still not reopen a stopped radio.
    const tasks: (() => void)[] = [];
    const reopener = new Reopener(LIMITS, {
      random: () => 0,
      schedule: (task) => {
        tasks.push(task);
        return () => undefined;
      },
    });
    let attempts = 0;
    reopener.retry(() => attempts++);
    reopener.stop();
    tasks[0]!();
    expect(attempts).toBe(0);
  });
});
