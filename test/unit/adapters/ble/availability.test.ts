import { describe, expect, it } from 'vitest';
import { AvailabilityTracker } from '../../../../adapters/ble/availability.js';

const policy = { missedIntervals: 5, minOfflineMs: 10_000, maxOfflineMs: 600_000 };

describe('AvailabilityTracker', () => {
  it('learns the advertising interval from the longest recent gap, through repeat bursts', () => {
    const tracker = new AvailabilityTracker(policy);
    // A sensor that sends each packet three times, 50 ms apart, every 10 s.
    for (const burstAtMs of [0, 10_000, 20_000]) {
      for (const repeat of [0, 50, 100]) tracker.seen('d', burstAtMs + repeat);
    }
    expect(tracker.intervalMs('d')).toBe(9900);
    expect(tracker.offlineAfterMs('d')).toBe(49_500);
    expect(tracker.availability('d', 20_100 + 49_500)).toBe('online');
    expect(tracker.availability('d', 20_100 + 49_501)).toBe('offline');
  });

  it('bounds the timeout by minOfflineMs and maxOfflineMs', () => {
    const fast = new AvailabilityTracker(policy);
    fast.seen('d', 0);
    fast.seen('d', 100);
    expect(fast.offlineAfterMs('d')).toBe(10_000);
    const slow = new AvailabilityTracker(policy);
    slow.seen('d', 0);
    slow.seen('d', 300_000);
    expect(slow.offlineAfterMs('d')).toBe(600_000);
  });

  it('uses maxOfflineMs until an interval is known, and reports coming back online', () => {
    const tracker = new AvailabilityTracker(policy);
    expect(tracker.availability('d', 0)).toBe('unknown');
    expect(tracker.seen('d', 0)).toBe(true);
    expect(tracker.availability('d', 600_000)).toBe('online');
    expect(tracker.availability('d', 600_001)).toBe('offline');
    expect(tracker.seen('d', 700_000)).toBe(true);
    expect(tracker.seen('d', 700_100)).toBe(false);
  });
});
