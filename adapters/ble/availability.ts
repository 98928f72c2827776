import type { Availability } from '../../src/model.js';

/** How the offline timeout is derived from a device's learned advertising interval. */
export interface AvailabilityPolicy {
  missedIntervals: number;
  minOfflineMs: number;
  maxOfflineMs: number;
}

/** Recent gaps kept per device; enough to see through a burst of repeated packets. */
const GAPS_KEPT = 16;

/**
 * Learns each device's advertising interval from the gaps between its packets and decides when silence
 * means offline. The interval is the longest recent gap, not the mean: sensors repeat each packet in quick
 * bursts, and a mean of those tiny gaps would declare a healthy sensor offline between bursts.
 */
export class AvailabilityTracker {
  private readonly devices = new Map<string, { lastSeenMs: number; gapsMs: number[] }>();

  constructor(private readonly policy: AvailabilityPolicy) {}

  /** Record a packet; returns true when the device was offline (or new) and is now online. */
  seen(device: string, nowMs: number): boolean {
    const entry = this.devices.get(device);
    if (entry === undefined) {
      this.devices.set(device, { lastSeenMs: nowMs, gapsMs: [] });
      return true;
    }
    const wasOnline = this.availability(device, nowMs) === 'online';
    const gapMs = nowMs - entry.lastSeenMs;
    if (gapMs > 0) {
      entry.gapsMs.push(gapMs);
      if (entry.gapsMs.length > GAPS_KEPT) entry.gapsMs.shift();
    }
    entry.lastSeenMs = nowMs;
    return !wasOnline;
  }

  /** The learned advertising interval, undefined until two packets were heard. */
  intervalMs(device: string): number | undefined {
    const gaps = this.devices.get(device)?.gapsMs ?? [];
    return gaps.length === 0 ? undefined : Math.max(...gaps);
  }

  /** How long silence may last before the device counts as offline. */
  offlineAfterMs(device: string): number {
    const { missedIntervals, minOfflineMs, maxOfflineMs } = this.policy;
    const interval = this.intervalMs(device);
    if (interval === undefined) return maxOfflineMs;
    return Math.min(maxOfflineMs, Math.max(minOfflineMs, missedIntervals * interval));
  }

  availability(device: string, nowMs: number): Availability {
    const entry = this.devices.get(device);
    if (entry === undefined) return 'unknown';
    return nowMs - entry.lastSeenMs > this.offlineAfterMs(device) ? 'offline' : 'online';
  }

  lastSeenMs(device: string): number {
    return this.devices.get(device)?.lastSeenMs ?? 0;
  }
}
