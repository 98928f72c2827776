import { describe, expect, it } from 'vitest';
import { availabilityOf, type AvailabilityFacts } from '../../../../adapters/zigbee/availability.js';

const policy = {
  missedIntervals: 2,
  fallbackMainsMs: 600_000,
  fallbackBatteryMs: 90_000_000,
  checkIntervalMs: 30_000,
};
const heardAt = 1_000_000;
const facts = (more: Partial<AvailabilityFacts>): AvailabilityFacts => ({
  isSleepy: false,
  lastSeen: heardAt,
  isAwake: true,
  ...more,
});

describe('availabilityOf', () => {
  it.each([
    ['never heard', facts({ lastSeen: 0 }), 0, 'unknown'],
    ['mains, recently heard', facts({}), 1000, 'online'],
    ['mains, silent past the fallback', facts({}), 600_001, 'offline'],
    ['mains reporting every 60 s, silent 119 s', facts({ maxReportIntervalS: 60 }), 119_000, 'online'],
    ['mains reporting every 60 s, silent 121 s', facts({ maxReportIntervalS: 60 }), 121_000, 'offline'],
    [
      'sleepy between polls',
      facts({ isSleepy: true, isAwake: false, checkinIntervalS: 300 }),
      10_000,
      'asleep',
    ],
    [
      'sleepy just after a poll',
      facts({ isSleepy: true, isAwake: true, checkinIntervalS: 300 }),
      10,
      'online',
    ],
    [
      'sleepy, two check-ins missed',
      facts({ isSleepy: true, isAwake: false, checkinIntervalS: 300 }),
      601_000,
      'offline',
    ],
    [
      'sleepy without intervals, one day silent',
      facts({ isSleepy: true, isAwake: false }),
      86_400_000,
      'asleep',
    ],
    [
      'sleepy: the shorter promise counts',
      facts({ isSleepy: true, isAwake: false, checkinIntervalS: 3600, maxReportIntervalS: 60 }),
      121_000,
      'offline',
    ],
    ['0xffff means reporting is off', facts({ maxReportIntervalS: 0xffff }), 300_000, 'online'],
  ])('%s', (_name, f, silentMs, expected) => {
    expect(availabilityOf(f, policy, heardAt + silentMs)).toBe(expected);
  });
});
