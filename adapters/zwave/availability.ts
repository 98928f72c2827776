import type { Availability } from '../../src/model.js';

/** zwave-js `NodeStatus` values (stable across zwave-js majors). */
export const NODE_STATUS = { unknown: 0, asleep: 1, awake: 2, dead: 3, alive: 4 } as const;

export interface AvailabilityFacts {
  /** zwave-js `node.status`. */
  status: number;
  /** The node's wake-up interval from its Wake Up CC; undefined for mains devices or when unknown. */
  wakeUpIntervalS: number | undefined;
  /** Epoch ms the node was last heard from; 0 when never. */
  lastSeen: number;
  now: number;
  /** Extra time past two wake-up intervals before a sleeping node counts as offline. */
  sleepGraceMs: number;
}

/**
 * A node's availability from zwave-js's status and, for sleeping nodes, its real wake-up interval: a
 * battery node that missed two check-ins (plus grace) is offline even though zwave-js still says asleep,
 * because zwave-js never marks a sleeping node dead.
 */
export function availabilityOf(facts: AvailabilityFacts): Availability {
  switch (facts.status) {
    case NODE_STATUS.alive:
    case NODE_STATUS.awake:
      return 'online';
    case NODE_STATUS.dead:
      return 'offline';
    case NODE_STATUS.asleep: {
      const intervalS = facts.wakeUpIntervalS;
      // Interval 0 means "wakes up only when a button is pressed": silence proves nothing.
      if (intervalS === undefined || intervalS === 0 || facts.lastSeen === 0) return 'asleep';
      const overdueAt = facts.lastSeen + 2 * intervalS * 1000 + facts.sleepGraceMs;
      return facts.now > overdueAt ? 'offline' : 'asleep';
    }
    default:
      return 'unknown';
  }
}
