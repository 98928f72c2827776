import { describe, expect, it } from 'vitest';
import {
  availabilityOf,
  needsPing,
  type AvailabilityFacts,
} from '../../../../adapters/zigbee/availability.js';

const policy = {
  missedIntervals: 2,
  fallbackMainsMs: 600_000,
  pingMains: false,
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

describe('with pings for mains devices (zigbee2mqtt’s availability)', () => {
  const pinging = { ...policy, pingMains: true };

  it.each([
    ['an idle mains bulb, silent past the timeout, not pinged yet', facts({}), 600_001, 'online'],
    [
      'a mains bulb whose ping after it was last heard went unanswered',
      facts({ pingFailedAt: heardAt + 600_500 }),
      600_600,
      'offline',
    ],
    ['a mains bulb heard again after a failed ping', facts({ pingFailedAt: heardAt - 1 }), 600_001, 'online'],
    ['a battery sensor is never pinged: silence decides', facts({ isBattery: true }), 90_000_001, 'offline'],
  ])('%s', (_name, f, silentMs, expected) => {
    expect(availabilityOf(f, pinging, heardAt + silentMs)).toBe(expected);
  });

  it('pings a mains device once per timeout, and never a battery one', () => {
    expect(needsPing(facts({}), pinging, heardAt + 599_000, 0)).toBe(false);
    expect(needsPing(facts({}), pinging, heardAt + 600_001, 0)).toBe(true);
    expect(needsPing(facts({}), pinging, heardAt + 600_001, heardAt + 600_000)).toBe(false);
    expect(needsPing(facts({}), pinging, heardAt + 1_200_002, heardAt + 600_001)).toBe(true);
    expect(needsPing(facts({ isBattery: true }), pinging, heardAt + 100_000_000, 0)).toBe(false);
    expect(needsPing(facts({}), policy, heardAt + 600_001, 0)).toBe(false);
  });
});
