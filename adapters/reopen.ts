/**
 * The one way back for a radio: reopen a lost radio (or reconnect a lost device link) after an exponential
 * backoff with *equal jitter* — the delay before attempt `n` (0-based) is drawn uniformly from
 * [cap / 2, cap], where cap = min(maxMs, initialMs · 2ⁿ).
 *
 * Why equal jitter: a radio is local, but several reopen loops do share things — GATT links share the BLE
 * controller's few connection slots, and a network coordinator or a ser2net stick (`tcp://…`) may serve
 * several gateways that lost it at once. Jitter keeps those from retrying in step. Full jitter (drawing
 * from [0, cap]) would sometimes retry within milliseconds, a busy loop against a stick that is simply
 * unplugged; equal jitter never waits less than half the plain exponential delay, so the schedule in the
 * logs stays predictable within a factor of two.
 *
 * (The forwarder's retry backoff, `src/upstream/backoff.ts`, is a different shape — decorrelated jitter with
 * server hints — and stays separate.)
 */

export interface ReopenLimits {
  /** First delay (before jitter). */
  initialMs: number;
  /** Longest delay (before jitter). */
  maxMs: number;
}

/** The delay before reopen attempt `attempt` (0-based); `random` is uniform in [0, 1). */
export function reopenDelayMs(attempt: number, limits: ReopenLimits, random: () => number): number {
  const capMs = Math.min(limits.maxMs, limits.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(capMs / 2 + (capMs / 2) * random());
}

/** Runs `task` after `delayMs`; returns a function that cancels it. */
export type ScheduleTimer = (task: () => void, delayMs: number) => () => void;

export interface ReopenerDeps {
  /** Uniform random in [0, 1); injected so tests can pin the jitter. Default `Math.random`. */
  random?: () => number;
  /** Default: a Node timer (unref'd with `unref: true`, so a waiting reopen does not keep the process up). */
  schedule?: ScheduleTimer;
  unref?: boolean;
}

/**
 * One reopen loop: `retry(attempt)` after each failure, `succeeded()` when the radio is back, `stop()` when
 * the adapter stops. At most one attempt is pending at a time; nothing runs after `stop()`.
 * Not for concurrent owners: one radio (or one device link) owns one instance.
 */
export class Reopener {
  readonly #limits: ReopenLimits;
  readonly #random: () => number;
  readonly #schedule: ScheduleTimer;
  #failures = 0;
  #cancel: (() => void) | undefined;
  #isStopped = false;

  constructor(limits: ReopenLimits, deps: ReopenerDeps = {}) {
    this.#limits = limits;
    this.#random = deps.random ?? Math.random;
    this.#schedule = deps.schedule ?? nodeTimer(deps.unref === true);
  }

  /** Failures since the last success: 1 right after the first failure of an episode (the time to WARN). */
  get failures(): number {
    return this.#failures;
  }

  get isStopped(): boolean {
    return this.#isStopped;
  }

  /**
   * Counts a failure and runs `attempt` after the next backoff delay, replacing an attempt still pending.
   * Returns the delay, or undefined once stopped (then nothing is scheduled).
   */
  retry(attempt: () => void): number | undefined {
    if (this.#isStopped) return undefined;
    const delayMs = reopenDelayMs(this.#failures, this.#limits, this.#random);
    this.#failures += 1;
    this.#cancel?.();
    this.#cancel = this.#schedule(() => {
      this.#cancel = undefined;
      if (!this.#isStopped) attempt();
    }, delayMs);
    return delayMs;
  }

  /** The radio is back: the next failure starts a new episode at `initialMs`. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** Cancels a pending attempt; later `retry` calls do nothing. */
  stop(): void {
    this.#isStopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }
}

function nodeTimer(unref: boolean): ScheduleTimer {
  return (task, delayMs) => {
    const timer = setTimeout(task, delayMs);
    if (unref) timer.unref();
    return () => clearTimeout(timer);
  };
}
