/**
 * What the hub does with one D2C message under its throttle and daily quota
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
export type Admission = 'ok' | 'throttled' | 'quotaExceeded';

/** An admission with the delay the hub's traffic shaping puts on it before it acknowledges. */
export interface ShapedAdmission {
  admission: Admission;
  /** How long to hold the acknowledgement of an admitted message (0 within the burst). */
  delayMs: number;
}

export interface HubMeterOptions {
  now?: () => number;
  /** D2C messages per second for the whole hub; Infinity disables throttling. */
  d2cPerSecond?: number;
  /** Billed units per UTC day; Infinity disables the quota (403002 when exhausted). */
  dailyQuotaUnits?: number;
  /** The meter's chunk: 4 KB (0.5 KB on the Free tier). */
  unitBytes?: number;
  /**
   * How long the shaping queue may hold messages beyond the rate before the hub answers 429: 2 s by
   * default (the hub documents a bounded queue, not its size).
   */
  shapingQueueMs?: number;
}

export interface MeterCounters {
  messages: number;
  billedUnits: number;
  throttled: number;
  quotaRefused: number;
  /** Messages admitted above the rate and acknowledged late by the shaping queue. */
  shaped: number;
  /** Billed units of service-side and device twin, method and C2D traffic (not D2C). */
  operationUnits: number;
  /** Billable operations other than D2C, by kind: `c2d`, `twinRead`, `twinUpdate`, `method`. */
  operations: Record<OperationKind, number>;
}

/** What the hub bills besides D2C (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing). */
export type OperationKind = 'c2d' | 'twinRead' | 'twinUpdate' | 'method';

const DAY_MS = 86_400_000;

/**
 * The hub's D2C throttle, daily quota and billing meter. The throttle is a token bucket that allows a
 * one-second burst, then shapes traffic as the hub does: messages above the rate are queued and
 * acknowledged at the rate (`delayMs`), and only when that queue is full does the hub answer 429. The
 * quota counts 4 KB units of everything billed (D2C, C2D, twin and method traffic) and resets at midnight
 * UTC. No I/O; the clock is injected.
 */
export class HubMeter {
  readonly #now: () => number;
  readonly #unitBytes: number;
  readonly #shapingQueueMs: number;
  #d2cPerSecond: number;
  #dailyQuotaUnits: number;
  #tokens: number;
  #refilledAt: number;
  #day: number;
  #unitsToday = 0;
  readonly #counters: MeterCounters = {
    messages: 0,
    billedUnits: 0,
    throttled: 0,
    quotaRefused: 0,
    shaped: 0,
    operationUnits: 0,
    operations: { c2d: 0, twinRead: 0, twinUpdate: 0, method: 0 },
  };

  constructor(options: HubMeterOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#unitBytes = options.unitBytes ?? 4096;
    this.#shapingQueueMs = options.shapingQueueMs ?? 2000;
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
   * transfer, so either every message is counted and billed or none is. The shaping delay is dropped:
   * use `shape` to hold the acknowledgement as the hub does.
   */
  admitAll(sizesBytes: readonly number[]): Admission {
    return this.shape(sizesBytes).admission;
  }

  /** `admitAll` with the delay before the acknowledgement that traffic shaping adds. */
  shape(sizesBytes: readonly number[]): ShapedAdmission {
    const now = this.#now();
    this.#rollDay(now);
    const units = sizesBytes.reduce((sum, size) => sum + this.unitsFor(size), 0);
    if (this.#unitsToday + units > this.#dailyQuotaUnits) {
      this.#counters.quotaRefused += 1;
      return { admission: 'quotaExceeded', delayMs: 0 };
    }
    const count = sizesBytes.length;
    const rate = this.#d2cPerSecond;
    let delayMs = 0;
    if (rate !== Infinity) {
      this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
      this.#refilledAt = now;
      // Tokens may go below zero by what the shaping queue holds; each missing token waits 1/rate s. A
      // batch larger than the burst still passes on a full bucket.
      const queueRoom = (this.#shapingQueueMs / 1000) * rate;
      const isBucketFull = rate > 0 && this.#tokens >= rate;
      if (rate <= 0 || (this.#tokens - count < -queueRoom && !isBucketFull)) {
        this.#counters.throttled += 1;
        return { admission: 'throttled', delayMs: 0 };
      }
      this.#tokens -= count;
      if (this.#tokens < 0) delayMs = Math.ceil((-this.#tokens / rate) * 1000);
    }
    if (delayMs > 0) this.#counters.shaped += count;
    this.#unitsToday += units;
    this.#counters.messages += count;
    this.#counters.billedUnits += units;
    return { admission: 'ok', delayMs };
  }

  /**
   * Count a billable operation other than D2C, in the meter's chunks (docs/clouds/azure-iot-hub.md
   * #limits-throttles-quotas-billing): a C2D message by its size; a twin read by the twin's size; a twin
   * update by the patch's size; a direct method by its request plus, separately, its response (each at
   * least one unit). Counted against the daily quota too; the hub does not refuse these here.
   */
  countOperation(kind: OperationKind, ...sizesBytes: number[]): number {
    this.#rollDay(this.#now());
    const units = sizesBytes.reduce((sum, size) => sum + this.unitsFor(size), 0);
    this.#unitsToday += units;
    this.#counters.operations[kind] += 1;
    this.#counters.operationUnits += units;
    return units;
  }

  #rollDay(now: number): void {
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#unitsToday = 0;
    }
  }

  counters(): MeterCounters {
    return { ...this.#counters, operations: { ...this.#counters.operations } };
  }
}
