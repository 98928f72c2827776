import type { Logger } from '../../../logger.js';

/** A leaf whose readings are kept back, and why. */
export interface HeldLeaf {
  leaf: string;
  reason: string;
  /** Epoch ms since when it has been held. */
  since: number;
}

/**
 * The leaves a per-device connector cannot send for right now: no identity configured, or the hub
 * refused the one it has. Their readings are not acknowledged, so they stay in the queue; see
 * `PerDeviceSend` for how a send reports them.
 *
 * One WARN when a leaf becomes held (or its reason changes), one INFO when it is released, never one per
 * reading. A leaf held with `retryAfterMs` (the hub refused it: maybe it is registered later) is offered
 * again once that has passed; one held without is held until the connector is rebuilt with new config.
 */
export class HeldLeaves {
  readonly #held = new Map<string, HeldLeaf & { retryAt?: number }>();
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(log: Logger, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  hold(leaf: string, reason: string, retryAfterMs?: number): void {
    const now = this.#now();
    const earlier = this.#held.get(leaf);
    if (earlier?.reason !== reason) {
      this.#log.warn(
        { leaf, reason },
        'No usable hub identity for this leaf; its readings stay queued until it has one.',
      );
    }
    this.#held.set(leaf, {
      leaf,
      reason,
      since: earlier?.since ?? now,
      ...(retryAfterMs === undefined ? {} : { retryAt: now + retryAfterMs }),
    });
  }

  release(leaf: string): void {
    const earlier = this.#held.get(leaf);
    if (earlier === undefined) return;
    this.#held.delete(leaf);
    this.#log.info({ leaf, heldMs: this.#now() - earlier.since }, 'The leaf has a hub identity again.');
  }

  /** True while the leaf's readings must be kept back without trying. */
  isHeld(leaf: string): boolean {
    const held = this.#held.get(leaf);
    return held !== undefined && (held.retryAt === undefined || this.#now() < held.retryAt);
  }

  list(): HeldLeaf[] {
    return [...this.#held.values()].map(({ leaf, reason, since }) => ({ leaf, reason, since }));
  }
}
