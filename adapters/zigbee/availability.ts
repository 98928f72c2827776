import type { Availability } from '../../src/model.js';
import type { AvailabilityPolicy } from './options.js';

/**
 * Availability from each device's own promises: a sleepy device promises to check in every
 * `checkinIntervalS`; a reporting device promises a report at least every `maxReportIntervalS`. Only a
 * device that promised nothing falls back to the fixed mains / battery timeouts.
 */
export interface AvailabilityFacts {
  isSleepy: boolean;
  /** Epoch ms of the last frame heard; 0 when never. */
  lastSeen: number;
  /** True inside the short window after a sleepy device polled, when it can receive. */
  isAwake: boolean;
  /** genPollCtrl check-in interval, in seconds. */
  checkinIntervalS?: number;
  /** The longest maximum reporting interval configured on the device, in seconds. */
  maxReportIntervalS?: number;
}

/** How long the device may stay silent before it counts as offline. */
export function silenceLimitMs(facts: AvailabilityFacts, policy: AvailabilityPolicy): number {
  // Either promise is enough to hear from the device, so the shorter one is the one to hold it to.
  const promisedS = [facts.checkinIntervalS, facts.maxReportIntervalS].filter(
    (s): s is number => s !== undefined && s > 0 && s < 0xffff,
  );
  if (promisedS.length > 0) return Math.min(...promisedS) * 1000 * policy.missedIntervals;
  return facts.isSleepy ? policy.fallbackBatteryMs : policy.fallbackMainsMs;
}

export function availabilityOf(
  facts: AvailabilityFacts,
  policy: AvailabilityPolicy,
  now: number,
): Availability {
  if (facts.lastSeen === 0) return 'unknown';
  if (now - facts.lastSeen > silenceLimitMs(facts, policy)) return 'offline';
  return facts.isSleepy && !facts.isAwake ? 'asleep' : 'online';
}
