import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Reading } from '../model.js';
import { AggregateStage } from './aggregate.js';
import { FilterStage } from './filter.js';
import { DebounceStage } from './debounce.js';
import { DeviceStage } from './device-stage.js';
import type { DeviceProfileLookup, DeviceSettingsTable } from '../devices/device-settings.js';
import type { ReadingMatcher } from './match.js';
import type { Stage } from './stage.js';

/** One route's claim on readings: `match` returns the part of a reading the route takes, or null. */
export interface PipelineRoute {
  name: string;
  match: ReadingMatcher;
}

export interface PipelineOptions {
  /** Run in order; a windowed stage's flushed readings pass through the stages after it. */
  stages: Stage[];
  routes: PipelineRoute[];
  /** Store readings for a route; resolves when durable (the queue's append). */
  deliver: (route: string, readings: Reading[]) => Promise<void>;
  /** Called with every reading that leaves the stages (for `fieldgate tail`); must be cheap. */
  onOutput?: (readings: readonly Reading[]) => void;
  /** How often windowed stages are asked for closed windows. Default 1000 ms. */
  flushIntervalMs?: number;
  /** The gateway clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  log: Logger;
}

export interface PipelineStats {
  /** Readings pushed in. */
  in: number;
  /** Readings that left the stages (aggregates included). */
  out: number;
  /** Readings a non-windowed stage dropped. Readings a windowed stage holds come back out as aggregates. */
  filtered: number;
  /** Readings that left the stages and matched no route. */
  unrouted: number;
}

const DEFAULT_FLUSH_INTERVAL_MS = 1000;

/**
 * Runs readings through the stages and hands each result to every route that matches it
 * (docs/architecture.md#data-flow).
 *
 * Concurrency: `push` may be called by several adapters at once. Stages run synchronously, and each push
 * calls `deliver` for its routes before it first awaits, so readings reach a route's queue in push order.
 * Lifecycle: `start()` begins the flush tick; `stop()` flushes every open window, delivers it and ends the
 * tick. A `push` after `stop()` is still delivered, with windows flushed at once, so nothing is held.
 */
export class Pipeline {
  readonly #stages: readonly Stage[];
  readonly #routes: readonly PipelineRoute[];
  readonly #deliver: PipelineOptions['deliver'];
  readonly #onOutput: PipelineOptions['onOutput'];
  readonly #flushIntervalMs: number;
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #stats: PipelineStats = { in: 0, out: 0, filtered: 0, unrouted: 0 };
  #timer: NodeJS.Timeout | undefined;
  /** The tick's flush in progress; ticks never overlap, and stop() waits for it. */
  #tickFlush: Promise<void> | undefined;
  #isStopped = false;

  constructor(options: PipelineOptions) {
    this.#stages = options.stages;
    this.#routes = options.routes;
    this.#deliver = options.deliver;
    this.#onOutput = options.onOutput;
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
  }

  /**
   * Runs the stages over `readings` and delivers the results to every matching route, in parallel.
   * Resolves when every route has stored its share; rejects with the first delivery error after every
   * route has settled (the other routes still get their readings).
   */
  async push(readings: Reading[]): Promise<void> {
    const now = this.#now();
    this.#stats.in += readings.length;
    const out = this.#runFrom(0, readings, now);
    if (this.#isStopped) out.push(...this.#flush(now, true));
    await this.#route(out);
  }

  /** Starts the flush tick. The timer is unref'd: the pipeline alone never keeps the process alive. */
  start(): void {
    if (this.#timer !== undefined || this.#isStopped || !this.#stages.some((s) => s.flush !== undefined))
      return;
    this.#timer = setInterval(() => this.#tick(), this.#flushIntervalMs);
    this.#timer.unref();
  }

  /** Ends the tick, then flushes every open window and resolves once it is delivered. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#isStopped = true;
    await this.#tickFlush;
    await this.#route(this.#flush(this.#now(), true));
  }

  stats(): PipelineStats {
    return { ...this.#stats };
  }

  #tick(): void {
    if (this.#tickFlush !== undefined) return;
    this.#tickFlush = this.#route(this.#flush(this.#now(), false))
      .catch((e: unknown) => {
        // Nobody awaits a tick: this is the only place the loss can be reported.
        this.#log.error({ err: errorMessage(e) }, 'Aggregated readings could not be stored and are lost.');
      })
      .finally(() => {
        this.#tickFlush = undefined;
      });
  }

  /** Runs `readings` through the stages from `index` on. */
  #runFrom(index: number, readings: Reading[], now: number): Reading[] {
    let current = readings;
    for (const stage of this.#stages.slice(index)) {
      const next = stage.process(current, now);
      if (stage.flush === undefined) this.#stats.filtered += Math.max(0, current.length - next.length);
      current = next;
    }
    return current;
  }

  /** Asks every windowed stage for its closed windows and runs them through the stages after it. */
  #flush(now: number, final: boolean): Reading[] {
    const out: Reading[] = [];
    this.#stages.forEach((stage, index) => {
      const flushed = stage.flush?.(now, final) ?? [];
      if (flushed.length > 0) out.push(...this.#runFrom(index + 1, flushed, now));
    });
    return out;
  }

  async #route(readings: Reading[]): Promise<void> {
    if (readings.length === 0) return;
    this.#stats.out += readings.length;
    this.#notify(readings);
    const byRoute = new Map<string, Reading[]>();
    for (const reading of readings) {
      let isRouted = false;
      for (const route of this.#routes) {
        const taken = route.match(reading);
        if (taken === null) continue;
        isRouted = true;
        const batch = byRoute.get(route.name);
        if (batch === undefined) byRoute.set(route.name, [taken]);
        else batch.push(taken);
      }
      if (!isRouted) {
        this.#stats.unrouted++;
        this.#log.debug({ device: reading.device }, 'A reading matched no route and was dropped.');
      }
    }
    const results = await Promise.allSettled(
      [...byRoute].map(([route, batch]) => this.#deliver(route, batch)),
    );
    const failure = results.find((r) => r.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  #notify(readings: readonly Reading[]): void {
    if (this.#onOutput === undefined) return;
    try {
      this.#onOutput(readings);
    } catch (e) {
      // A broken tail subscriber must not cost the readings their delivery.
      this.#log.warn({ err: errorMessage(e) }, 'The reading output observer failed.');
    }
  }
}

/**
 * The stages `pipeline` config asks for, in order: per-device settings (names, calibration, precision, float
 * noise), the filter, debouncing, then aggregation (left out when `windowMs` is 0). `devices` returns the
 * settings in effect (a reload replaces them); without it (some tests) no device has settings.
 */
export function buildStages(config: Config['pipeline'], devices?: () => DeviceSettingsTable): Stage[] {
  const lookup = profileLookup(devices);
  const stages: Stage[] = [
    new DeviceStage(lookup),
    buildFilterStage(config.filter, devices),
    new DebounceStage(lookup),
  ];
  if (config.aggregate.windowMs > 0) stages.push(new AggregateStage(config.aggregate));
  return stages;
}

/** The filter stage for `filter` and the device settings in effect (built again when either reloads). */
export function buildFilterStage(
  filter: Config['pipeline']['filter'],
  devices?: () => DeviceSettingsTable,
): FilterStage {
  const profile = profileLookup(devices);
  return new FilterStage(
    filter,
    undefined,
    devices === undefined ? undefined : { profile, hasFilters: devices().hasFilters },
  );
}

function profileLookup(devices: (() => DeviceSettingsTable) | undefined): DeviceProfileLookup {
  return devices === undefined ? () => undefined : (id) => devices().profile(id);
}
