import type { DeviceFilter } from '../config/devices.js';
import type { Config } from '../config/schema.js';
import type { DeviceProfileLookup } from '../devices/device-settings.js';
import { isEventValue, type DeviceId, type Reading, type Value } from '../model.js';
import { withoutNoise } from './device-stage.js';
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
  /** Reading ts of the device's last forwarded reading, for `throttleMs`. */
  forwardedAt?: number;
}

/** Per-device filters as the stage reads them: the device's own settings, and whether any device has some. */
export interface DeviceFilters {
  profile: DeviceProfileLookup;
  hasFilters: boolean;
}

/** The filter in effect for one device: its own keys over the global ones. */
interface Effective {
  minIntervalMs: number;
  reportOnChange: boolean;
  heartbeatMs: number;
  deadband: Readonly<Record<string, number>>;
  throttleMs: number;
}

/**
 * The `pipeline.filter` stage. In order: `include` keeps the selected readings/values, `exclude` removes
 * devices or values; then, per device+value, `minIntervalMs` forwards at most once per interval,
 * `deadband` forwards a numeric value only when it moved at least that much from the last *forwarded*
 * value (so slow drift is still reported), `reportOnChange` forwards any other value only when it differs
 * from the last forwarded one, and `heartbeatMs` forwards a value held back by deadband or reportOnChange
 * once that long has passed since its last forward. Event values (`action`, see `isEventValue`) are never held
 * back by these: pressing a button twice is two presses. A device's own `devices.<id>.filter` keys override
 * the global ones for it (`deadband` value by value), and its `throttleMs` drops any reading, events
 * included, that comes sooner than that after its last forwarded one. Intervals are measured on reading timestamps; a reading
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
  readonly #limits: FilterLimits;
  readonly #include: ReadingMatcher;
  readonly #exclude: ReadingMatcher;
  readonly #isStateful: boolean;
  readonly #devicesFilters: DeviceFilters | undefined;
  readonly #global: Effective;
  /** Insertion order is least-recently-seen first: a device is re-inserted whenever seen. */
  readonly #devices = new Map<DeviceId, DeviceState>();

  constructor(
    config: FilterConfig,
    limits: FilterLimits = DEFAULT_FILTER_LIMITS,
    devices: DeviceFilters | undefined = undefined,
  ) {
    this.#limits = limits;
    this.#include = compileMatch(config.include);
    this.#exclude = compileExclude(config.exclude);
    this.#devicesFilters = devices;
    this.#global = {
      minIntervalMs: config.minIntervalMs,
      reportOnChange: config.reportOnChange,
      heartbeatMs: config.heartbeatMs,
      deadband: config.deadband,
      throttleMs: 0,
    };
    this.#isStateful =
      config.minIntervalMs > 0 ||
      config.reportOnChange ||
      Object.keys(config.deadband).length > 0 ||
      devices?.hasFilters === true;
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

  /** Applies throttleMs, minIntervalMs, deadband, reportOnChange and heartbeatMs; null when nothing passes. */
  #throttle(reading: Reading, now: number): Reading | null {
    const device = this.#touch(reading.device, now);
    const filter = this.#effective(reading.device);
    if (filter.throttleMs > 0 && device.forwardedAt !== undefined) {
      const elapsedMs = reading.ts < device.forwardedAt ? Infinity : reading.ts - device.forwardedAt;
      if (elapsedMs < filter.throttleMs) return null;
    }
    const values: Record<string, Value> = {};
    let forwardedCount = 0;
    let heldCount = 0;
    for (const [name, value] of Object.entries(reading.values)) {
      const last = device.series.get(name);
      if (
        last === undefined ||
        isEventValue(name) ||
        this.#shouldForward(filter, name, value, last, reading.ts)
      ) {
        device.series.set(name, { value, forwardedAt: reading.ts });
        values[name] = value;
        forwardedCount++;
      } else {
        heldCount++;
      }
    }
    if (forwardedCount === 0) return null;
    device.forwardedAt = reading.ts;
    if (heldCount === 0) return reading;
    return withValues(reading, values);
  }

  #effective(id: DeviceId): Effective {
    const own: DeviceFilter | undefined = this.#devicesFilters?.profile(id)?.filter;
    if (own === undefined) return this.#global;
    return {
      minIntervalMs: own.minIntervalMs ?? this.#global.minIntervalMs,
      reportOnChange: own.reportOnChange ?? this.#global.reportOnChange,
      heartbeatMs: own.heartbeatMs ?? this.#global.heartbeatMs,
      deadband:
        own.deadband === undefined ? this.#global.deadband : { ...this.#global.deadband, ...own.deadband },
      throttleMs: own.throttleMs ?? 0,
    };
  }

  #shouldForward(filter: Effective, name: string, value: Value, last: SeriesState, ts: number): boolean {
    const { minIntervalMs, heartbeatMs, reportOnChange } = filter;
    const elapsedMs = ts < last.forwardedAt ? Number.POSITIVE_INFINITY : ts - last.forwardedAt;
    if (elapsedMs < minIntervalMs) return false;
    const deadband = filter.deadband[name];
    let isChange: boolean;
    if (deadband !== undefined) {
      isChange =
        typeof value === 'number' && typeof last.value === 'number'
          ? // 0.3 - 0.2 is 0.09999999999999998: without its noise a step of exactly the deadband passes.
            withoutNoise(Math.abs(value - last.value)) >= deadband
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
