import type { Config } from '../config/schema.js';
import { FieldgateError } from '../errors.js';
import type { DeviceId, Reading, Value } from '../model.js';
import { withoutNoise } from './device-stage.js';
import { compileMatch, withValues, type ReadingMatcher } from './match.js';
import type { Stage } from './stage.js';

export type AggregateConfig = Config['pipeline']['aggregate'];
export type AggregateFunction = AggregateConfig['functions'][number];

/** Running figures for one value name inside one window. */
interface Series {
  /** Numeric samples seen; 0 means the value is aggregated as "keep the last". */
  count: number;
  sum: number;
  min: number;
  max: number;
  lastNumber: number;
  /** The last value of any type, for non-numeric values. */
  last: Value;
}

interface Window {
  startMs: number;
  /** The device's name as its last reading carried it. */
  name: string | undefined;
  series: Map<string, Series>;
  /** The last unit seen per value name. */
  units: Map<string, string>;
  lastSeq: number | undefined;
}

/** `temperature` + `mean` → `temperatureMean`. */
function aggregateName(value: string, fn: AggregateFunction): string {
  return value + fn.charAt(0).toUpperCase() + fn.slice(1);
}

function isNumeric(value: Value): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function figure(series: Series, fn: AggregateFunction): number {
  switch (fn) {
    case 'mean':
      return series.sum / series.count;
    case 'min':
      return series.min;
    case 'max':
      return series.max;
    case 'sum':
      return series.sum;
    case 'count':
      return series.count;
    case 'last':
      return series.lastNumber;
  }
}

/**
 * The `pipeline.aggregate` stage: tumbling windows per device, aligned to `windowMs` (a window starts at
 * `floor(ts / windowMs) * windowMs`).
 *
 * Readings that `match` does not select pass through unchanged; when `match` names values, the values it
 * does not select pass through as a reading of their own. A selected numeric value becomes one value per
 * configured function, `<name><Fn>` (`temperatureMean`, `temperatureCount`), carrying the value's unit
 * (except `Count`, which has none); a non-numeric value (or one that was never numeric in the window)
 * keeps its last value under its own name.
 *
 * An aggregated reading's `ts` is the window's **end** (start + windowMs, exclusive), and its `seq` the
 * `seq` of the last reading folded in. A window is emitted by `flush` once `now` has reached its end, or
 * at once when the device sends a reading for another window (later, or earlier after a clock step), so
 * each device holds at most one open window.
 */
export class AggregateStage implements Stage {
  readonly name = 'aggregate';
  readonly #windowMs: number;
  readonly #functions: readonly AggregateFunction[];
  readonly #match: ReadingMatcher;
  readonly #open = new Map<DeviceId, Window>();

  constructor(config: AggregateConfig) {
    if (config.windowMs <= 0) {
      throw new FieldgateError('FG_INTERNAL', 'An aggregate stage needs windowMs > 0; 0 means no stage.', {
        context: { windowMs: config.windowMs },
      });
    }
    this.#windowMs = config.windowMs;
    this.#functions = config.functions;
    this.#match = compileMatch(config.match);
  }

  process(readings: readonly Reading[], _now: number): Reading[] {
    const out: Reading[] = [];
    for (const reading of readings) {
      const selected = this.#match(reading);
      if (selected === null) {
        out.push(reading);
        continue;
      }
      if (selected !== reading) {
        const rest = Object.entries(reading.values).filter(([name]) => !(name in selected.values));
        if (rest.length > 0) out.push(withValues(reading, Object.fromEntries(rest)));
      }
      const closed = this.#add(selected);
      if (closed !== undefined) out.push(closed);
    }
    return out;
  }

  flush(now: number, final: boolean): Reading[] {
    const out: Reading[] = [];
    for (const [device, window] of this.#open) {
      if (final || window.startMs + this.#windowMs <= now) {
        this.#open.delete(device);
        out.push(this.#toReading(device, window));
      }
    }
    return out;
  }

  /** Folds a reading into its device's window; returns the previous window if this one replaced it. */
  #add(reading: Reading): Reading | undefined {
    const startMs = Math.floor(reading.ts / this.#windowMs) * this.#windowMs;
    let window = this.#open.get(reading.device);
    let closed: Reading | undefined;
    if (window !== undefined && window.startMs !== startMs) {
      closed = this.#toReading(reading.device, window);
      // Re-inserted below, so flush() meets windows in the order they opened: oldest first.
      this.#open.delete(reading.device);
      window = undefined;
    }
    if (window === undefined) {
      window = { startMs, name: undefined, series: new Map(), units: new Map(), lastSeq: undefined };
      this.#open.set(reading.device, window);
    }
    for (const [name, value] of Object.entries(reading.values)) fold(window.series, name, value);
    for (const [name, unit] of Object.entries(reading.units ?? {})) window.units.set(name, unit);
    if (reading.seq !== undefined) window.lastSeq = reading.seq;
    window.name = reading.name;
    return closed;
  }

  #toReading(device: DeviceId, window: Window): Reading {
    const values: Record<string, Value> = {};
    const units: Record<string, string> = {};
    for (const [name, series] of window.series) {
      const unit = window.units.get(name);
      if (series.count === 0) {
        values[name] = series.last;
        if (unit !== undefined) units[name] = unit;
        continue;
      }
      for (const fn of this.#functions) {
        const key = aggregateName(name, fn);
        values[key] = withoutNoise(figure(series, fn));
        if (unit !== undefined && fn !== 'count') units[key] = unit;
      }
    }
    const reading: Reading = { device, ts: window.startMs + this.#windowMs, values, units };
    if (window.name !== undefined) reading.name = window.name;
    if (window.lastSeq !== undefined) reading.seq = window.lastSeq;
    return reading;
  }
}

function fold(all: Map<string, Series>, name: string, value: Value): void {
  let series = all.get(name);
  if (series === undefined) {
    series = { count: 0, sum: 0, min: Infinity, max: -Infinity, lastNumber: 0, last: value };
    all.set(name, series);
  }
  series.last = value;
  if (!isNumeric(value)) return;
  series.count++;
  series.sum += value;
  series.min = Math.min(series.min, value);
  series.max = Math.max(series.max, value);
  series.lastNumber = value;
}
