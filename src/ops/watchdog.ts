import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { Notifier } from './sd-notify.js';

/** Counters the watchdog compares between two ticks. */
export interface LivenessSample {
  /** Readings the adapters have handed to the pipeline since start. */
  emitted: number;
  /** Group commits the queue writer has completed since start. */
  commits: number;
}

/**
 * Why the gateway is not live, or undefined when it is. Not live: the event loop stalled longer than
 * `maxLagMs`, or readings arrived since the last tick while the queue writer committed nothing (a wedged
 * LevelDB or a stuck group commit). Quiet periods — nothing emitted, nothing committed — are live.
 */
export function livenessProblem(
  previous: LivenessSample,
  current: LivenessSample,
  lagMs: number,
  maxLagMs: number,
): string | undefined {
  if (lagMs > maxLagMs) return `event loop stalled for ${Math.round(lagMs)} ms`;
  if (current.emitted > previous.emitted && current.commits === previous.commits)
    return `queue writer made no progress while ${current.emitted - previous.emitted} readings arrived`;
  return undefined;
}

export interface WatchdogOptions {
  notifier: Notifier;
  /** systemd's `WATCHDOG_USEC` in ms; the watchdog pings at half of it, as sd_watchdog_enabled(3) advises. */
  watchdogMs: number;
  sample: () => LivenessSample;
  /** Longest tolerated event-loop delay. Default: half the watchdog period. */
  maxLagMs?: number;
  log: Logger;
}

/**
 * Feeds systemd's watchdog only while the liveness checks pass, so a gateway that is running but no longer
 * storing readings gets restarted, not just one whose process died. Logs once per unhealthy episode.
 */
export class Watchdog {
  readonly #options: WatchdogOptions;
  readonly #delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 50 });
  #timer: NodeJS.Timeout | undefined;
  #previous: LivenessSample | undefined;
  #problem: string | undefined;

  constructor(options: WatchdogOptions) {
    this.#options = options;
  }

  /** The watchdog period systemd asks for, in ms, or undefined when it asks for none. */
  static periodMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const usec = Number(env.WATCHDOG_USEC);
    const pid = env.WATCHDOG_PID;
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    if (pid !== undefined && pid !== '' && Number(pid) !== process.pid) return undefined;
    return usec / 1000;
  }

  start(): void {
    this.#delay.enable();
    this.#previous = this.#options.sample();
    this.#timer = setInterval(() => void this.#tick(), this.#options.watchdogMs / 2);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#delay.disable();
  }

  /** The current liveness problem, for `status`. */
  get problem(): string | undefined {
    return this.#problem;
  }

  async #tick(): Promise<void> {
    const current = this.#options.sample();
    const lagMs = this.#delay.max / 1e6;
    this.#delay.reset();
    const maxLagMs = this.#options.maxLagMs ?? this.#options.watchdogMs / 2;
    const problem = livenessProblem(this.#previous ?? current, current, lagMs, maxLagMs);
    this.#previous = current;
    if (problem !== this.#problem) {
      if (problem === undefined) this.#options.log.info('Liveness checks pass again; feeding the watchdog.');
      else this.#options.log.error({ problem }, 'Liveness check failed; not feeding the systemd watchdog.');
    }
    this.#problem = problem;
    if (problem === undefined) await this.#options.notifier.notify({ WATCHDOG: '1' });
  }
}
