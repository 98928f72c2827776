/** What the last failure told us about when to try again. */
export interface BackoffHint {
  /** The server asked us to wait at least this long (HTTP Retry-After, a throttling reply). */
  retryAfterMs?: number;
  /** The server dropped us on purpose (session taken over, client id in use): pause longer. */
  kicked?: boolean;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform random in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/**
 * Jittered exponential backoff with "decorrelated jitter": each delay is drawn uniformly from
 * [initialMs, 3 × previous delay], capped at maxMs.
 *
 * Why decorrelated rather than full jitter: full jitter draws from [0, cap] and so regularly retries after a
 * few milliseconds, which for a fleet of gateways that all lost the same broker is a reconnect storm at the
 * worst moment. Decorrelated jitter never goes below `initialMs`, still spreads clients apart, and grows
 * about as fast as plain doubling.
 *
 * Not safe for concurrent use; one forwarder owns one instance.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #previousMs = 0;
  #attempts = 0;

  constructor(options: BackoffOptions) {
    this.#initialMs = Math.max(0, options.initialMs);
    this.#maxMs = Math.max(this.#initialMs, options.maxMs);
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last `reset()`. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt, in ms. Call once per failure. */
  next(hint: BackoffHint = {}): number {
    this.#attempts += 1;
    let delayMs: number;
    if (hint.kicked === true) {
      // Coming straight back after a kick usually kicks the other holder of our client id, which then
      // kicks us: jump to the top of the range so two such clients settle instead of fighting.
      delayMs = this.#between(this.#maxMs / 2, this.#maxMs);
    } else {
      const ceilingMs = Math.min(this.#maxMs, Math.max(this.#initialMs, this.#previousMs * 3));
      delayMs = this.#between(this.#initialMs, ceilingMs);
    }
    // A server's own hint is a floor, even beyond maxMs: retrying earlier only earns another refusal.
    if (hint.retryAfterMs !== undefined && hint.retryAfterMs > delayMs) delayMs = hint.retryAfterMs;
    this.#previousMs = Math.min(delayMs, this.#maxMs);
    return Math.round(delayMs);
  }

  /** Forget past failures: the next delay starts again near `initialMs`. */
  reset(): void {
    this.#previousMs = 0;
    this.#attempts = 0;
  }

  #between(lowMs: number, highMs: number): number {
    return lowMs + this.#random() * (highMs - lowMs);
  }
}
