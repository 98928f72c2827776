/**
 * Exponential backoff without jitter: one local radio or one device has nobody to collide with, and a
 * predictable schedule is easier to read in logs. `attempt` counts from 0.
 */
export function backoffDelayMs(attempt: number, limits: { initialMs: number; maxMs: number }): number {
  return Math.min(limits.maxMs, limits.initialMs * 2 ** Math.min(attempt, 30));
}
