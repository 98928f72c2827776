import type { StatusSnapshot } from '../health/status.js';
import type { Reading } from '../model.js';

/** One route's sample: when, backlog, readings delivered per second since the previous sample. */
export interface RouteSample {
  ts: number;
  depth: number;
  deliveredPerS: number;
}

/** A fixed-capacity ring of numeric rows (`width` numbers each), in one typed array: no per-sample object. */
export class NumberRing {
  readonly #data: Float64Array;
  #count = 0;
  #next = 0;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    this.#data = new Float64Array(capacity * width);
  }

  get length(): number {
    return this.#count;
  }

  push(row: readonly number[]): void {
    this.#data.set(row.slice(0, this.width), this.#next * this.width);
    this.#next = (this.#next + 1) % this.capacity;
    this.#count = Math.min(this.#count + 1, this.capacity);
  }

  /** Overwrites the newest row (there must be one). */
  replaceLast(row: readonly number[]): void {
    const last = (this.#next - 1 + this.capacity) % this.capacity;
    this.#data.set(row.slice(0, this.width), last * this.width);
  }

  /** The row `age` places before the newest (0: the newest), or undefined. */
  fromEnd(age: number): number[] | undefined {
    if (age >= this.#count) return undefined;
    const at = (this.#next - 1 - age + this.capacity * 2) % this.capacity;
    return Array.from(this.#data.subarray(at * this.width, (at + 1) * this.width));
  }

  /** Every row, oldest first. */
  rows(): number[][] {
    const out: number[][] = [];
    for (let age = this.#count - 1; age >= 0; age--) out.push(this.fromEnd(age)!);
    return out;
  }
}

/**
 * One device value's points: whole-second timestamps and values in two typed arrays (12 bytes a point), as
 * a fleet of a thousand devices with three values each keeps three thousand of these.
 */
export class ValueRing {
  readonly #seconds: Uint32Array;
  readonly #values: Float64Array;
  #count = 0;
  #next = 0;

  constructor(readonly capacity: number) {
    this.#seconds = new Uint32Array(capacity);
    this.#values = new Float64Array(capacity);
  }

  /** Epoch ms of the newest point (to the second), or undefined. */
  get lastTs(): number | undefined {
    return this.#count === 0
      ? undefined
      : this.#seconds[(this.#next - 1 + this.capacity) % this.capacity]! * 1000;
  }

  push(ts: number, value: number): void {
    this.#seconds[this.#next] = Math.floor(ts / 1000);
    this.#values[this.#next] = value;
    this.#next = (this.#next + 1) % this.capacity;
    this.#count = Math.min(this.#count + 1, this.capacity);
  }

  replaceLast(ts: number, value: number): void {
    const last = (this.#next - 1 + this.capacity) % this.capacity;
    this.#seconds[last] = Math.floor(ts / 1000);
    this.#values[last] = value;
  }

  /** Every point, oldest first. */
  columns(): { ts: number[]; value: number[] } {
    const ts: number[] = [];
    const value: number[] = [];
    for (let i = this.#count; i > 0; i--) {
      const at = (this.#next - i + this.capacity) % this.capacity;
      ts.push(this.#seconds[at]! * 1000);
      value.push(this.#values[at]!);
    }
    return { ts, value };
  }
}

export interface HistoryOptions {
  /** Route samples kept: with `sampleEveryMs` this is the chart's span (default 1,800 × 2 s = 1 hour). */
  routeSamples?: number;
  /** One point per device value per slot of this length; the slot's last reading wins. */
  valueSlotMs?: number;
  /** Points kept per device value (default 60 × 1 min = 1 hour). */
  valueSamples?: number;
  /** Devices whose values are kept; readings of further devices are not charted (a large fleet). */
  maxDevices?: number;
}

const DEFAULTS = { routeSamples: 1800, valueSlotMs: 60_000, valueSamples: 60, maxDevices: 2000 };

/**
 * The status page's short memory: per route the backlog and delivery rate of the last hour, and per
 * device the numeric values of the last hour at a coarse step. Everything is bounded: fixed rings per
 * route and per device value, and a cap on the devices followed. Fed from `status()` samples and the
 * pipeline's output (the same readings `fieldgate tail` sees); nothing here decides anything.
 */
export class WebHistory {
  readonly #options: typeof DEFAULTS;
  readonly #routes = new Map<string, { ring: NumberRing; sent: number }>();
  readonly #values = new Map<string, Map<string, ValueRing>>();
  #readingsIn: { ts: number; count: number } | undefined;
  #inPerS = 0;

  constructor(options: HistoryOptions = {}) {
    this.#options = { ...DEFAULTS, ...options };
  }

  /** Records one status snapshot; returns the samples it added, by route. */
  sample(status: StatusSnapshot, now: number): Record<string, RouteSample> {
    const added: Record<string, RouteSample> = {};
    for (const route of status.routes) {
      let entry = this.#routes.get(route.name);
      const sent = route.forwarder.sentReadings;
      const previous = entry?.ring.fromEnd(0);
      if (entry === undefined) {
        entry = { ring: new NumberRing(this.#options.routeSamples, 3), sent };
        this.#routes.set(route.name, entry);
      }
      const elapsedS = previous === undefined ? 0 : (now - previous[0]!) / 1000;
      const deliveredPerS = elapsedS > 0 ? Math.max(0, sent - entry.sent) / elapsedS : 0;
      entry.sent = sent;
      const row = { ts: now, depth: route.queue.depth, deliveredPerS: Math.round(deliveredPerS * 10) / 10 };
      entry.ring.push([row.ts, row.depth, row.deliveredPerS]);
      added[route.name] = row;
    }
    const pipelineIn = status.pipeline?.in ?? 0;
    if (this.#readingsIn !== undefined && now > this.#readingsIn.ts) {
      const perS = (Math.max(0, pipelineIn - this.#readingsIn.count) * 1000) / (now - this.#readingsIn.ts);
      this.#inPerS = Math.round(perS * 10) / 10;
    }
    this.#readingsIn = { ts: now, count: pipelineIn };
    return added;
  }

  /** Readings per second entering the pipeline, between the last two samples. */
  get inPerS(): number {
    return this.#inPerS;
  }

  /** Every route's samples, oldest first, as columns (what the chart takes). */
  routes(): Record<string, { ts: number[]; depth: number[]; deliveredPerS: number[] }> {
    const out: Record<string, { ts: number[]; depth: number[]; deliveredPerS: number[] }> = {};
    for (const [name, { ring }] of this.#routes) {
      const rows = ring.rows();
      out[name] = {
        ts: rows.map((r) => r[0]!),
        depth: rows.map((r) => r[1]!),
        deliveredPerS: rows.map((r) => r[2]!),
      };
    }
    return out;
  }

  /** Keeps the numeric values of readings leaving the pipeline. */
  record(readings: readonly Reading[]): void {
    const slotMs = this.#options.valueSlotMs;
    for (const reading of readings) {
      let series = this.#values.get(reading.device);
      if (series === undefined) {
        if (this.#values.size >= this.#options.maxDevices) continue;
        series = new Map();
        this.#values.set(reading.device, series);
      }
      for (const [name, value] of Object.entries(reading.values)) {
        const numeric = typeof value === 'boolean' ? Number(value) : value;
        if (typeof numeric !== 'number' || !Number.isFinite(numeric)) continue;
        let ring = series.get(name);
        if (ring === undefined) {
          ring = new ValueRing(this.#options.valueSamples);
          series.set(name, ring);
        }
        // A reading in the newest point's slot replaces it, so the chart always ends at the latest value.
        const last = ring.lastTs;
        if (last !== undefined && Math.floor(last / slotMs) === Math.floor(reading.ts / slotMs))
          ring.replaceLast(reading.ts, numeric);
        else ring.push(reading.ts, numeric);
      }
    }
  }

  /** Forgets a removed device. */
  forget(device: string): void {
    this.#values.delete(device);
  }

  /** One device's value history, by value name, oldest first. */
  deviceValues(device: string): Record<string, { ts: number[]; value: number[] }> {
    const out: Record<string, { ts: number[]; value: number[] }> = {};
    for (const [name, ring] of this.#values.get(device) ?? []) out[name] = ring.columns();
    return out;
  }
}
