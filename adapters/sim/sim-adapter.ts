import { errorMessage, FieldgateError } from '../../src/errors.js';
import type { CommandResult, DeviceCommand, DeviceId, DeviceInfo, Reading } from '../../src/model.js';
import type { Adapter, AdapterContext } from '../adapter.js';
import type { SimDevice } from './device.js';
import { ClimateSensor } from './climate.js';
import { buildFleet } from './fleet.js';
import type { SimOptions } from './options.js';
import { createRandom, deriveSeed, type Random } from './random.js';
import type { SleepySensor } from './sleepy.js';

/**
 * A simulated fleet behind the adapter contract: climate sensors, smart switches, door contacts and
 * sleepy battery sensors, for demos, tests and benchmarks (docs/benchmarks.md).
 *
 * Scheduling: with `reportIntervalMs > 0` each reporting device has its own timer (interval plus up to
 * `jitterMs`), re-armed only after its `emit` resolved, so back-pressure slows the fleet down. With
 * `reportIntervalMs: 0` one loop emits batches of `batchSize` readings across the fleet back-to-back,
 * awaiting each emit and yielding to the event loop between batches. Sleepy sensors always follow their own
 * cycle: wake, report once, stay awake `awakeMs`, sleep until `wakeIntervalMs` after the wake-up.
 * The timers are deliberately not unref'd: a running adapter is what keeps the daemon alive.
 */
export class SimAdapter implements Adapter {
  readonly #options: SimOptions;
  readonly #devices = new Map<DeviceId, SimDevice>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #ctx: AdapterContext | undefined;
  /** For jitter and start offsets only; values come from each device's own stream. */
  #timing: Random = createRandom(0);
  #isStopped = false;
  #seed = 0;
  #joined = 0;

  constructor(options: SimOptions) {
    this.#options = options;
  }

  start(ctx: AdapterContext): Promise<void> {
    this.#ctx = ctx;
    // Without a seed every start differs; with one, every device repeats its values exactly.
    const seed = this.#options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.#seed = seed;
    this.#timing = createRandom(seed);
    const { reporters, sleepers } = buildFleet(ctx.name, this.#options, seed);
    for (const device of [...reporters, ...sleepers]) {
      this.#devices.set(device.id, device);
      ctx.deviceChanged(device.info());
    }
    const { reportIntervalMs, wakeIntervalMs } = this.#options;
    if (reportIntervalMs > 0) {
      // Start offsets spread the fleet over one interval instead of reporting all at once.
      for (const device of reporters)
        this.#after(this.#timing.between(0, reportIntervalMs), () => this.#report(device));
    } else {
      this.#runFullSpeed(reporters).catch((e: unknown) => this.#fail(e));
    }
    for (const sleeper of sleepers)
      this.#after(this.#timing.between(0, wakeIntervalMs), () => this.#wake(sleeper));
    ctx.log.info({ devices: this.#devices.size, reportIntervalMs, seed }, 'Simulated fleet started.');
    ctx.setStatus('running');
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#isStopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#ctx?.setStatus('stopped');
    return Promise.resolve();
  }

  devices(): DeviceInfo[] {
    return [...this.#devices.values()].map((device) => device.info());
  }

  isReachable(id: DeviceId): boolean {
    const device = this.#devices.get(id);
    return device !== undefined && device.availability !== 'asleep';
  }

  async execute(cmd: DeviceCommand, _signal: AbortSignal): Promise<CommandResult> {
    const device = this.#devices.get(cmd.device);
    if (device === undefined) return { id: cmd.id, status: 'rejected', detail: 'unknown device' };
    if (device.availability === 'asleep') return { id: cmd.id, status: 'failed', detail: 'device is asleep' };
    const { reportNow, ...outcome } = device.execute(cmd.name, cmd.args);
    if (reportNow === true) {
      const values = device.sample();
      if (values !== undefined) await this.#emit([device.reading(this.#now(), values)]);
    }
    return { id: cmd.id, ...outcome };
  }

  /**
   * Opens the pairing window: shortly after it opens one new climate sensor joins (`paired-01`, …), first
   * announced bare, then with its model once its simulated interview completes, and it starts reporting.
   */
  permitJoin(seconds: number): Promise<void> {
    if (seconds <= 0) return Promise.resolve();
    const joinDelayMs = Math.min(500, (seconds * 1000) / 2);
    this.#after(joinDelayMs, () => this.#join());
    return Promise.resolve();
  }

  remove(id: DeviceId): Promise<void> {
    if (this.#devices.delete(id)) this.#context().deviceRemoved(id);
    return Promise.resolve();
  }

  #join(): void {
    const ctx = this.#context();
    this.#joined += 1;
    const nativeId = `paired-${String(this.#joined).padStart(2, '0')}`;
    const device = new ClimateSensor(ctx.name, nativeId, createRandom(deriveSeed(this.#seed, nativeId)));
    this.#devices.set(device.id, device);
    const { model: _model, manufacturer: _manufacturer, ...bare } = device.info();
    ctx.deviceChanged({ ...bare, availability: 'unknown' });
    const interviewMs = 300;
    this.#after(interviewMs, () => {
      ctx.deviceChanged(device.info());
      if (this.#options.reportIntervalMs > 0) return this.#report(device);
    });
  }

  async #report(device: SimDevice): Promise<void> {
    if (!this.#devices.has(device.id)) return;
    const values = device.sample();
    if (values !== undefined) await this.#emit([device.reading(this.#now(), values)]);
    const { reportIntervalMs, jitterMs } = this.#options;
    this.#after(reportIntervalMs + this.#timing.between(0, jitterMs), () => this.#report(device));
  }

  async #runFullSpeed(reporters: readonly SimDevice[]): Promise<void> {
    const { batchSize } = this.#options;
    let next = 0;
    while (reporters.length > 0 && !this.#isStopped) {
      const batch: Reading[] = [];
      // Bounded, so a fleet of contacts that happen not to flip cannot keep this loop from yielding.
      for (let tries = 0; batch.length < batchSize && tries < batchSize * reporters.length; tries++) {
        const device = reporters[next]!;
        next = (next + 1) % reporters.length;
        const values = device.sample();
        if (values !== undefined) batch.push(device.reading(this.#now(), values));
      }
      if (batch.length > 0) await this.#emit(batch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #wake(sleeper: SleepySensor): Promise<void> {
    const ctx = this.#context();
    sleeper.availability = 'online';
    ctx.deviceChanged(sleeper.info());
    ctx.deviceAwake(sleeper.id);
    const reported = this.#emit([sleeper.reading(this.#now(), sleeper.sample())]);
    this.#after(this.#options.awakeMs, () => this.#sleep(sleeper));
    return reported;
  }

  #sleep(sleeper: SleepySensor): void {
    sleeper.availability = 'asleep';
    this.#context().deviceChanged(sleeper.info());
    const sleepMs = Math.max(0, sleeper.wakeIntervalMs - this.#options.awakeMs);
    this.#after(sleepMs, () => this.#wake(sleeper));
  }

  /** Runs `task` after `delayMs` unless stopped first; the timer is tracked so stop() can clear it. */
  #after(delayMs: number, task: () => Promise<void> | void): void {
    if (this.#isStopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#isStopped) return;
      Promise.resolve()
        .then(task)
        .catch((e: unknown) => this.#fail(e));
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Emits unless stopped. An emit failure costs only these readings, so it is logged and the fleet goes on. */
  async #emit(readings: Reading[]): Promise<void> {
    if (this.#isStopped) return;
    try {
      await this.#context().emit(readings);
    } catch (e) {
      this.#context().log.warn(
        { err: errorMessage(e), readings: readings.length },
        'Simulated readings were not accepted.',
      );
    }
  }

  #fail(e: unknown): void {
    this.#context().log.error({ err: errorMessage(e) }, 'The simulated fleet failed.');
    this.#context().setStatus('degraded', errorMessage(e));
  }

  #now(): number {
    return this.#context().now();
  }

  #context(): AdapterContext {
    if (this.#ctx === undefined)
      throw new FieldgateError('FG_INTERNAL', 'The sim adapter was used before start().');
    return this.#ctx;
  }
}
