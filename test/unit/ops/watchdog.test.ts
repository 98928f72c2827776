import { describe, expect, it } from 'vitest';
import { livenessProblem, Watchdog } from '../../../src/ops/watchdog.js';

describe('livenessProblem (what gates the systemd watchdog)', () => {
  const at = (emitted: number, commits: number) => ({ emitted, commits });

  it.each([
    ['readings arrive and get committed', at(10, 3), at(20, 5), 5, undefined],
    ['nothing arrives and nothing is committed (a quiet night)', at(10, 3), at(10, 3), 5, undefined],
    [
      'readings arrive but the queue writer is stuck',
      at(10, 3),
      at(25, 3),
      5,
      /no progress while 15 readings/,
    ],
    ['the event loop stalled', at(10, 3), at(20, 5), 20_000, /event loop stalled for 20000 ms/],
  ])('%s', (_, previous, current, lagMs, expected) => {
    const problem = livenessProblem(previous, current, lagMs, 15_000);
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  it('reads the period from WATCHDOG_USEC, only for this process', () => {
    expect(Watchdog.periodMs({ WATCHDOG_USEC: '30000000' })).toBe(30_000);
    expect(
      Watchdog.periodMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid + 1) }),
    ).toBeUndefined();
    expect(Watchdog.periodMs({})).toBeUndefined();
  });
});
