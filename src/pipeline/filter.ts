import type { Config } from '../config/schema.js';
import type { DeviceId, Reading, Value } from '../model.js';
import { compileExclude, compileMatch, withValues, type ReadingMatcher } from './match.js';
import type { Stage } from './stage.js';

export type FilterConfig = Config['pipeline']['filter'];

/** Bounds on the per-device state the filter keeps for deadband, interval and heartbeat decisions. */
export interface FilterLimits {
  /** Devices tracked at most; beyond it the least recently seen device is forgotten. */
  maxDevices: number;
  /** A device not seen for this long is forgotten. */
  forgetAfterMs: number;
}

/**
 * A PAN rarely holds more than a few hundred devices; the cap only guards against a misbehaving radio that
 * invents ids. A day outlives the wake-up interval of any battery device we know of, so a sleepy sensor
 * keeps its deadband state between reports.
 */
export const DEFAULT_FILTER_LIMITS: FilterLimits = { maxDevices: 10_000, forgetAfterMs: 24 * 3_600_000 };

/** What was last forwarded for one device+value. */
interface SeriesState {
  value: Value;
  /** Reading ts of that forward. */
  forwardedAt: number;
}

interface DeviceState {
  /** The pipeline's `now` when the device was last seen, for forgetting. */
  seenAt: number;
  series: Map<string, SeriesState>;
}

/**
 * The `pipeline.filter` stage. In order: `include` keeps the selected readings/values, `exclude` removes
 * devices or values; then, per device+value, `minIntervalMs` forwards at most once per interval,
 * `deadband` forwards a numeric value only when it moved at least that much from the last *forwarded*
 * value (so slow drift is still reported), `reportOnChange` forwards any other value only when it differs
 * from the last forwarded one, and `heartbeatMs` forwards a value held back by deadband or reportOnChange
 * once that long has passed since its last forward. Intervals are measured on reading timestamps; a reading
 * older than the last forward (the clock stepped back) counts as a full interval later, so a clock step
 * cannot silence a device. A reading whose values are all held back is dropped.
 *
 * State is kept per device (and per value inside it) only when an option needs it. It is bounded by
 * {@link FilterLimits}: devices live in least-recently-seen order, and on every batch those unseen for
 * `forgetAfterMs`, or beyond `maxDevices`, are forgotten. A forgotten device's next value is forwarded as if
 * it were new.
 */
export class FilterStage implements Stage {
  readonly name = 'filter';
  readonly #config: FilterConfig;
  readonly #limits: FilterLimits;
  readonly #include: ReadingMatcher;
  readonly #exclude: ReadingMatcher;
  readonly #isStateful: boolean;
  /** Insertion order is least-recently-seen first: a device is re-inserted whenever seen. */
  readonly #devices = new Map<DeviceId, DeviceState>();

  constructor(config: FilterConfig, limits: FilterLimits = DEFAULT_FILTER_LIMITS) {
    this.#config = config;
    this.#limits = limits;
    this.#include = compileMatch(config.include);
    this.#exclude = compileExclude(config.exclude);
    this.#isStateful =
      config.minIntervalMs > 0 || config.reportOnChange || Object.keys(config.deadband).length > 0;
  }

  process(readings: readonly Reading[], now: number): Reading[] {
    const out: Reading[] = [];
    for (const reading of readings) {
      const selected = this.#include(reading);
      const kept = selected === null ? null : this.#exclude(selected);
      if (kept === null) continue;
      const forwarded = this.#isStateful ? this.#throttle(kept, now) : kept;
      if (forwarded !== null) out.push(forwarded);
    }
    if (this.#isStateful) this.#forgetStale(now);
    return out;
  }

  /** The number of devices whose state is held now (for tests and status). */
  trackedDevices(): number {
    return this.#devices.size;
  }

  /** Applies minIntervalMs, deadband, reportOnChange and heartbeatMs; null when no value is forwarded. */
  #throttle(reading: Reading, now: number): Reading | null {
    const device = this.#touch(reading.device, now);
    const values: Record<string, Value> = {};
    let forwardedCount = 0;
    let heldCount = 0;
    for (const [name, value] of Object.entries(reading.values)) {
      const last = device.series.get(name);
      if (last === undefined || this.#shouldForward(name, value, last, reading.ts)) {
        device.series.set(name, { value, forwardedAt: reading.ts });
        values[name] = value;
        forwardedCount++;
      } else {
        heldCount++;
      }
    }
    if (forwardedCount === 0) return null;
    if (heldCount === 0) return reading;
    return withValues(reading, values);
  }

  #shouldForward(name: string, value: Value, last: SeriesState, ts: number): boolean {
    const { minIntervalMs, heartbeatMs, reportOnChange } = this.#config;
    const elapsedMs = ts < last.forwardedAt ? Number.POSITIVE_INFINITY : ts - last.forwardedAt;
    if (elapsedMs < minIntervalMs) return false;
    const deadband = this.#config.deadband[name];
    let isChange: boolean;
    if (deadband !== undefined) {
      isChange =
        typeof value === 'number' && typeof last.value === 'number'
          ? Math.abs(value - last.value) >= deadband
          : value !== last.value;
    } else if (reportOnChange) {
      isChange = value !== last.value;
    } else {
      return true;
    }
    return isChange || (heartbeatMs > 0 && elapsedMs >= heartbeatMs);
  }

  /** Returns the device's state, creating it, and moves it to the most-recently-seen end. */
  #touch(id: DeviceId, now: number): DeviceState {
    const state = this.#devices.get(id) ?? { seenAt: now, series: new Map<string, SeriesState>() };
    this.#devices.delete(id);
    state.seenAt = now;
    this.#devices.set(id, state);
    return state;
  }

  /** Walks from the least recently seen end; stops at the first device that is fresh and within the cap. */
  #forgetStale(now: number): void {
    for (const [id, state] of this.#devices) {
      const isOverCap = this.#devices.size > this.#limits.maxDevices;
      if (!isOverCap && now - state.seenAt < this.#limits.forgetAfterMs) break;
      this.#devices.delete(id);
    }
  }
}
