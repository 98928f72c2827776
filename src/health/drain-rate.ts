/**
 * Estimates how fast each route drains, as an exponentially weighted moving average of readings sent per
 * second between status samples, so `status` can say how long a backlog will take to clear.
 */
export class DrainRate {
  readonly #last = new Map<string, { sent: number; at: number; perS: number | undefined }>();

  /** Weight of the newest interval; 0.3 follows a change within a few samples without jumping on one. */
  constructor(private readonly alpha = 0.3) {}

  /** Records the route's `sentReadings` counter at `now` (epoch ms); returns the smoothed readings/s. */
  sample(route: string, sentReadings: number, now: number): number | undefined {
    const last = this.#last.get(route);
    if (last === undefined) {
      this.#last.set(route, { sent: sentReadings, at: now, perS: undefined });
      return undefined;
    }
    const elapsedS = (now - last.at) / 1000;
    // Samples closer than a second apart say little about a rate; keep the previous estimate.
    if (elapsedS < 1) return last.perS;
    const instant = (sentReadings - last.sent) / elapsedS;
    const perS = last.perS === undefined ? instant : this.alpha * instant + (1 - this.alpha) * last.perS;
    this.#last.set(route, { sent: sentReadings, at: now, perS });
    return perS;
  }
}

/**
 * Seconds until `depth` readings are sent at `perS`; 0 when empty, null when nothing is moving: no rate yet,
 * or the route is not connected (the smoothed rate of before an outage says nothing about when it ends).
 */
export function drainEtaS(depth: number, perS: number | undefined, connected: boolean): number | null {
  if (depth === 0) return 0;
  if (!connected || perS === undefined || perS <= 0) return null;
  return Math.ceil(depth / perS);
}
