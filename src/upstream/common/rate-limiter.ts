import { setTimeout as delay } from 'node:timers/promises';

export interface RateLimiterOptions {
  /** Sustained rate; `Infinity` disables limiting. */
  perSecond: number;
  /** Tokens that may be spent at once after an idle period; default one second's worth (at least 1). */
  burst?: number;
  now?: () => number;
  /** Waits `ms`, rejecting with the signal's reason if it aborts first; default a timer. Tests inject it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * A token bucket that paces publishes to an upstream's per-connection message rate (IoT Core allows 100/s;
 * brokers with rate limits disconnect clients that exceed them). Safe for concurrent sends (a route may keep
 * several leases in flight): checking and taking a token happen in one synchronous step.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #tokens: number;
  #refilledAt: number;

  constructor(options: RateLimiterOptions) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst ?? Math.max(1, Math.floor(options.perSecond));
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    this.#tokens = this.#burst;
    this.#refilledAt = this.#now();
  }

  /**
   * Resolves when one message may be sent. Rejects with the signal's reason if it aborts while waiting.
   */
  async take(signal: AbortSignal): Promise<void> {
    if (!Number.isFinite(this.#perSecond)) return;
    for (;;) {
      signal.throwIfAborted();
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      const waitMs = Math.ceil(((1 - this.#tokens) * 1000) / this.#perSecond);
      await this.#sleep(waitMs, signal);
    }
  }

  #refill(): void {
    const now = this.#now();
    const elapsedMs = Math.max(0, now - this.#refilledAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsedMs * this.#perSecond) / 1000);
    this.#refilledAt = now;
  }
}
