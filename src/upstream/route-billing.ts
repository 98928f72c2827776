import type { UpstreamStats } from './upstream.js';

/** What the cloud bills for one route (docs/operations.md#billed-units), as `status` shows it. */
export interface RouteBilling {
  /** Billed units since the daemon started (Azure: 4 KB units; AWS: 5 KB messages and operations). */
  billedUnits: number;
  /** The UTC day `billedUnitsToday` belongs to, `YYYY-MM-DD`: the clouds reset daily quotas at 00:00 UTC. */
  day: string;
  /** Billed units first seen on `day`. */
  billedUnitsToday: number;
  /** Billable operations since start, by short name (`d2c`, `c2d`, `twinRead`, `method`, `publishIn`, …). */
  operations: Record<string, number>;
}

/**
 * Turns an upstream's cumulative `stats()` into billed units per UTC day. Each `sample` attributes what
 * was billed since the previous sample to the day of `now`; the forwarder samples after every delivered
 * batch and whenever its status is read, so at most the units since the last sample before midnight land
 * on the new day. Pure; the clock is the caller's.
 */
export class DailyBilling {
  #day = '';
  #today = 0;
  #last: UpstreamStats = { billedUnits: 0 };

  sample(stats: UpstreamStats, now: number): RouteBilling {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day !== this.#day) {
      this.#day = day;
      this.#today = 0;
    }
    // A counter that went backwards (an upstream re-created) starts a new baseline instead of a negative day.
    this.#today += Math.max(0, stats.billedUnits - this.#last.billedUnits);
    this.#last = stats;
    return {
      billedUnits: stats.billedUnits,
      day,
      billedUnitsToday: this.#today,
      operations: { ...stats.operations },
    };
  }
}
