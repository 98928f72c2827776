import type { Availability } from '../../src/model.js';
import type { AvailabilityPolicy } from './options.js';

/**
 * Availability as zigbee2mqtt judges it: a device is held to its own promises first — a sleepy device
 * checks in every `checkinIntervalS`, a reporting device reports at least every `maxReportIntervalS` —
 * and only a device that promised nothing falls back to the fixed battery / mains timeouts. A silent
 * mains device is pinged rather than judged by silence (an idle bulb reports nothing for hours): it goes
 * offline only when the ping goes unanswered.
 */
export interface AvailabilityFacts {
  isSleepy: boolean;
  /** Battery powered (the battery timeout applies); default: the same as `isSleepy`. */
  isBattery?: boolean;
  /** Epoch ms of the last frame heard; 0 when never. */
  lastSeen: number;
  /** True inside the short window after a sleepy device polled, when it can receive. */
  isAwake: boolean;
  /** genPollCtrl check-in interval, in seconds. */
  checkinIntervalS?: number;
  /** The longest maximum reporting interval configured on the device, in seconds. */
  maxReportIntervalS?: number;
  /** Epoch ms of the last availability ping that went unanswered; 0 or absent when none did. */
  pingFailedAt?: number;
}

/** How long the device may stay silent before it counts as offline (battery) or is pinged (mains). */
export function silenceLimitMs(facts: AvailabilityFacts, policy: AvailabilityPolicy): number {
  // Either promise is enough to hear from the device, so the shorter one is the one to hold it to.
  const promisedS = [facts.checkinIntervalS, facts.maxReportIntervalS].filter(
    (s): s is number => s !== undefined && s > 0 && s < 0xffff,
  );
  if (promisedS.length > 0) return Math.min(...promisedS) * 1000 * policy.missedIntervals;
  return isBattery(facts) ? policy.fallbackBatteryMs : policy.fallbackMainsMs;
}

function isBattery(facts: AvailabilityFacts): boolean {
  return facts.isBattery ?? facts.isSleepy;
}

/** True when the device is to be pinged now: mains, silent past its limit, not pinged within it. */
export function needsPing(
  facts: AvailabilityFacts,
  policy: AvailabilityPolicy,
  now: number,
  pingedAt: number,
): boolean {
  if (!policy.pingMains || isBattery(facts) || facts.lastSeen === 0) return false;
  const limit = silenceLimitMs(facts, policy);
  return now - facts.lastSeen > limit && now - pingedAt > limit;
}

export function availabilityOf(
  facts: AvailabilityFacts,
  policy: AvailabilityPolicy,
  now: number,
): Availability {
  if (facts.lastSeen === 0) return 'unknown';
  if (now - facts.lastSeen > silenceLimitMs(facts, policy)) {
    if (!policy.pingMains || isBattery(facts)) return 'offline';
    // Silent mains device: it stays online until a ping sent after it was last heard goes unanswered.
    return (facts.pingFailedAt ?? 0) > facts.lastSeen ? 'offline' : 'online';
  }
  return facts.isSleepy && !facts.isAwake ? 'asleep' : 'online';
}
