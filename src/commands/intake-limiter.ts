import type { Logger } from '../logger.js';
import type { CommandGate } from './command-gate.js';
import type { IncomingCommand } from './incoming.js';

/** Why a command from a route did not reach the router, or was refused before it was read. */
export type IntakeRefusal =
  /** Past the route's command rate (token bucket exhausted). */
  | 'rate'
  /** The route already has `maxInFlight` submissions the router has not finished. */
  | 'inFlight'
  /** Over the size limit: refused unread (answered `rejected` by the router). */
  | 'oversize'
  /** Not a usable command (not JSON, fields missing; answered `rejected` by the router). */
  | 'invalid';

export const INTAKE_REFUSALS: readonly IntakeRefusal[] = ['rate', 'inFlight', 'oversize', 'invalid'];

/** Counters of one route's command intake since start; `fieldgate status --json` shows them per route. */
export interface IntakeStats {
  /** Commands handed to the router (valid or not). */
  admitted: number;
  /** Submissions the router has not finished yet. */
  inFlight: number;
  refused: Record<IntakeRefusal, number>;
  /** Refusals (rate, in flight) that were answered with a `rejected` result; the rest got none. */
  refusalsAnswered: number;
}

export interface IntakeConfig {
  /** Commands per second a route takes, sustained. */
  ratePerS: number;
  /** Commands a route takes at once after a quiet spell. */
  burst: number;
  /** Submissions of a route the router may be working on at once (a command held for a sleeping device counts). */
  maxInFlight: number;
}

/** Refused commands answered per second at most: the cloud hears why, without a result per flood message. */
export const REFUSAL_ANSWERS_PER_S = 5;
const REFUSAL_ANSWERS_BURST = 20;
/** A flood has ended once nothing was refused for this long (counted while connected). */
export const FLOOD_QUIET_MS = 5_000;
/** How often a flood's end is checked while the upstream is disconnected. */
const DISCONNECTED_CHECK_MS = 1_000;

export interface IntakeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CommandIntakeOptions {
  route: string;
  config: IntakeConfig;
  /** The router's `submit` for this route; the promise settles when the command is finished. Never rejects. */
  submit: (incoming: IncomingCommand) => Promise<unknown>;
  /** Publish a `rejected` result for a refused command (not through the router: its id stays usable). */
  answer: (incoming: IncomingCommand, detail: string) => void;
  log: Logger;
  /**
   * Whether the route's upstream is connected: a flood does not end while it is not (a reconnect inside a
   * flood is the same flood, not a new WARN). Default: always connected.
   */
  isConnected?: () => boolean;
  now?: () => number;
  timers?: IntakeTimers;
}

const realTimers: IntakeTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A token bucket: `take()` spends one token if there is one. */
class TokenBucket {
  #tokens: number;
  #refilledAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#refilledAt = now;
  }

  take(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#refilledAt) * this.perSecond) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * One route's command intake: between the upstream's `onCommand` and the router's `submit`, it bounds how
 * fast (token bucket) and how many at once (`maxInFlight`) commands enter, so that a flood on the command
 * topic costs counters, not memory. Commands past either bound are refused: counted by reason, answered
 * `rejected` at most {@link REFUSAL_ANSWERS_PER_S} per second (answering each would turn a flood into as
 * many publishes), and logged as one WARN when a flood starts and one INFO line when it has ended.
 *
 * A connector that sees a command before reading it asks {@link admitUnread} first (the intake is its
 * {@link CommandGate}): during a flood the excess is then refused before it is parsed. A message admitted
 * there has its rate token spent already; its `offer` does not spend another.
 *
 * `offer` is synchronous and never throws; call `stop` at the end to cancel the flood timer.
 */
export class CommandIntake implements CommandGate {
  readonly #options: CommandIntakeOptions;
  readonly #now: () => number;
  readonly #timers: IntakeTimers;
  readonly #rate: TokenBucket;
  readonly #answers: TokenBucket;
  readonly #stats: IntakeStats = {
    admitted: 0,
    inFlight: 0,
    refused: { rate: 0, inFlight: 0, oversize: 0, invalid: 0 },
    refusalsAnswered: 0,
  };
  /**
   * The flood in progress: when it started, when the last refusal came, when the upstream was last seen
   * disconnected during it, refusals so far.
   */
  #flood: { startedAt: number; lastAt: number; offlineAt: number; refused: number } | undefined;
  /**
   * Rate tokens (and refusal answers) spent by `admitUnread` for messages not yet offered. Capped: a
   * message admitted but never offered (its connection dropped first) leaves at most that much slack.
   */
  #prepaid = 0;
  #answersPrepaid = 0;
  #timer: unknown;

  constructor(options: CommandIntakeOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    const now = this.#now();
    this.#rate = new TokenBucket(options.config.ratePerS, options.config.burst, now);
    this.#answers = new TokenBucket(REFUSAL_ANSWERS_PER_S, REFUSAL_ANSWERS_BURST, now);
  }

  /** A command (or a malformed one) arrived from the route's upstream. */
  offer(incoming: IncomingCommand): void {
    const now = this.#now();
    if (this.#prepaid > 0) this.#prepaid -= 1;
    else if (!this.#rate.take(now)) return this.#refuse(incoming, 'rate', now);
    if (this.#stats.inFlight >= this.#options.config.maxInFlight)
      return this.#refuse(incoming, 'inFlight', now);
    if (incoming.kind === 'invalid')
      this.#stats.refused[incoming.isOversize === true ? 'oversize' : 'invalid'] += 1;
    this.#stats.admitted += 1;
    this.#stats.inFlight += 1;
    const done = (): void => void (this.#stats.inFlight -= 1);
    this.#options.submit(incoming).then(done, done);
  }

  /**
   * A command message arrived and is not read yet. `true`: read it and `offer` it (a rate token is spent
   * now; or it is one of the few refusals that get an answer, which needs its id). `false`: refused unread,
   * counted like any refusal for rate; it gets no answer.
   */
  admitUnread(): boolean {
    const now = this.#now();
    if (this.#rate.take(now)) {
      this.#prepaid = Math.min(this.#prepaid + 1, this.#options.config.burst);
      return true;
    }
    if (this.#answers.take(now)) {
      this.#answersPrepaid = Math.min(this.#answersPrepaid + 1, REFUSAL_ANSWERS_BURST);
      return true;
    }
    this.#refuse(undefined, 'rate', now);
    return false;
  }

  stats(): IntakeStats {
    return { ...this.#stats, refused: { ...this.#stats.refused } };
  }

  /** Cancel the flood timer; a flood in progress is summarised now. */
  stop(): void {
    if (this.#flood !== undefined) this.#endFlood();
  }

  #refuse(incoming: IncomingCommand | undefined, reason: 'rate' | 'inFlight', now: number): void {
    this.#stats.refused[reason] += 1;
    const { ratePerS, burst, maxInFlight } = this.#options.config;
    if (this.#flood === undefined) {
      this.#flood = { startedAt: now, lastAt: now, offlineAt: 0, refused: 0 };
      this.#options.log.warn(
        { route: this.#options.route, reason, ratePerS, burst, maxInFlight },
        'Commands arrive faster than the route takes them; refusing the excess (counted in status, answered at most ' +
          `${REFUSAL_ANSWERS_PER_S}/s) until the flood ends.`,
      );
      this.#armTimer(FLOOD_QUIET_MS);
    }
    this.#flood.lastAt = now;
    this.#flood.refused += 1;
    if (incoming === undefined) return;
    if (this.#answersPrepaid > 0) this.#answersPrepaid -= 1;
    else if (!this.#answers.take(now)) return;
    this.#stats.refusalsAnswered += 1;
    const detail =
      reason === 'rate'
        ? `too many commands on route ${this.#options.route} (limit ${ratePerS}/s, burst ${burst}); retry later`
        : `too many commands in progress on route ${this.#options.route} (limit ${maxInFlight}); retry later`;
    try {
      this.#options.answer(incoming, detail);
    } catch (e) {
      this.#options.log.debug({ err: e, route: this.#options.route }, 'Could not answer a refused command.');
    }
  }

  #armTimer(ms: number): void {
    this.#timer = this.#timers.setTimeout(() => this.#checkFlood(), ms);
  }

  #checkFlood(): void {
    const flood = this.#flood;
    if (flood === undefined) return;
    const now = this.#now();
    if (this.#options.isConnected?.() === false) {
      flood.offlineAt = now;
      return this.#armTimer(DISCONNECTED_CHECK_MS);
    }
    const quietFor = now - Math.max(flood.lastAt, flood.offlineAt);
    if (quietFor >= FLOOD_QUIET_MS) this.#endFlood();
    else this.#armTimer(FLOOD_QUIET_MS - quietFor);
  }

  #endFlood(): void {
    const flood = this.#flood!;
    this.#flood = undefined;
    this.#timers.clearTimeout(this.#timer);
    this.#options.log.info(
      {
        route: this.#options.route,
        refused: flood.refused,
        durationS: Math.round((flood.lastAt - flood.startedAt) / 1000),
      },
      `Command flood ended: ${flood.refused} commands refused.`,
    );
  }
}
