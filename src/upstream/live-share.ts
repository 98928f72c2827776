/**
 * Decides which leases take the newest items instead of the oldest (route `drain: liveFirst`), so live
 * data keeps flowing while a backlog drains (docs/architecture.md#delivery-semantics).
 *
 * A credit accumulator rather than "every Nth": `share` 0.25 gives every 4th lease, and a share such as
 * 0.4 gives exactly 2 of every 5 instead of rounding to a period. Only leases taken while there is a
 * backlog count; with no backlog, FIFO and newest-first are the same items.
 */
export class LiveShare {
  readonly #share: number;
  #credit = 0;

  /** `share` in [0, 1]: the fraction of backlog leases that take the newest items. */
  constructor(share: number) {
    this.#share = Math.min(1, Math.max(0, share));
  }

  /** Call once per lease; true when this lease should take the newest items. */
  takeNewest(hasBacklog: boolean): boolean {
    if (!hasBacklog) {
      this.#credit = 0;
      return false;
    }
    this.#credit += this.#share;
    // The epsilon keeps shares like 0.1 exact despite binary fractions (ten times 0.1 is 0.999…).
    if (this.#credit < 1 - 1e-9) return false;
    this.#credit -= 1;
    return true;
  }
}
