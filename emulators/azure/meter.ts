/**
 * What the hub does with one D2C message under its throttle and daily quota
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export type Admission = 'ok' | 'throttled' | 'quotaExceeded';

export interface HubMeterOptions {
  now?: () => number;
  /** D2C messages per second for the whole hub; Infinity disables throttling. */
  d2cPerSecond?: number;
  /** Billed units per UTC day; Infinity disables the quota (403002 when exhausted). */
  dailyQuotaUnits?: number;
  /** The meter's chunk: 4 KB (0.5 KB on the Free tier). */
  unitBytes?: number;
}

export interface MeterCounters {
  messages: number;
  billedUnits: number;
  throttled: number;
  quotaRefused: number;
}

const DAY_MS = 86_400_000;

/**
 * The hub's D2C throttle, daily quota and billing meter. The throttle is a token bucket that allows a
 * one-second burst (the hub accepts short bursts before it starts refusing); the quota counts 4 KB units
 * and resets at midnight UTC. No I/O; the clock is injected.
 */
export class HubMeter {
  readonly #now: () => number;
  readonly #unitBytes: number;
  #d2cPerSecond: number;
  #dailyQuotaUnits: number;
  #tokens: number;
  #refilledAt: number;
  #day: number;
  #unitsToday = 0;
  readonly #counters: MeterCounters = { messages: 0, billedUnits: 0, throttled: 0, quotaRefused: 0 };

  constructor(options: HubMeterOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#unitBytes = options.unitBytes ?? 4096;
    this.#d2cPerSecond = options.d2cPerSecond ?? Infinity;
    this.#dailyQuotaUnits = options.dailyQuotaUnits ?? Infinity;
    this.#tokens = this.#d2cPerSecond;
    this.#refilledAt = this.#now();
    this.#day = Math.floor(this.#now() / DAY_MS);
  }

  /** Change the limits at run time (tests, `emulate azure` flags); the bucket starts full again. */
  setLimits(limits: { d2cPerSecond?: number; dailyQuotaUnits?: number }): void {
    if (limits.d2cPerSecond !== undefined) {
      this.#d2cPerSecond = limits.d2cPerSecond;
      this.#tokens = limits.d2cPerSecond;
    }
    if (limits.dailyQuotaUnits !== undefined) this.#dailyQuotaUnits = limits.dailyQuotaUnits;
  }

  unitsFor(sizeBytes: number): number {
    return Math.max(1, Math.ceil(sizeBytes / this.#unitBytes));
  }

  /** Decide on one message of `sizeBytes`; an admitted message is counted and billed. */
  admit(sizeBytes: number): Admission {
    return this.admitAll([sizeBytes]);
  }

  /**
   * Decide on a batch (one AMQP batch transfer or HTTPS batch) as a whole: the hub accepts or refuses the
   * transfer, so either every message is counted and billed or none is.
   */
  admitAll(sizesBytes: readonly number[]): Admission {
    const now = this.#now();
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#unitsToday = 0;
    }
    const units = sizesBytes.reduce((sum, size) => sum + this.unitsFor(size), 0);
    if (this.#unitsToday + units > this.#dailyQuotaUnits) {
      this.#counters.quotaRefused += 1;
      return 'quotaExceeded';
    }
    this.#tokens = Math.min(
      this.#d2cPerSecond,
      this.#tokens + ((now - this.#refilledAt) / 1000) * this.#d2cPerSecond,
    );
    this.#refilledAt = now;
    // A batch larger than the burst would never pass; it needs a full bucket instead.
    if (this.#tokens < Math.min(sizesBytes.length, Math.max(1, this.#d2cPerSecond))) {
      this.#counters.throttled += 1;
      return 'throttled';
    }
    this.#tokens -= sizesBytes.length;
    this.#unitsToday += units;
    this.#counters.messages += sizesBytes.length;
    this.#counters.billedUnits += units;
    return 'ok';
  }

  counters(): MeterCounters {
    return { ...this.#counters };
  }
}
