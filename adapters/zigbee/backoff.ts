/** Delay before reopen attempt `attempt` (0-based). Injectable so tests need not wait. */
export type Backoff = (attempt: number) => number;

/**
 * Exponential backoff with jitter: `initialMs · 2^attempt`, capped at `maxMs`, then spread over its upper
 * half so a fleet of gateways that lost power together does not hammer shared infrastructure in step.
 */
export function exponentialBackoff(
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): Backoff {
  return (attempt) => {
    const capped = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    return Math.round(capped / 2 + (capped / 2) * random());
  };
}
