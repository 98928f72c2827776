/** setTimeout fires at once for longer delays; a longer wait is re-armed when this much has passed. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The router's one timer for held commands' TTLs: armed for the earliest `expiresAt` asked for, so many
 * held commands cost one timer. When it fires it forgets its time and calls `onDue`, which is expected to
 * answer what is due and `arm` again for the next one. Unref'd: held commands must not keep a CLI or a
 * test process alive on their own. After `stop` it never fires or arms again.
 */
export class ExpiryTimer {
  readonly #onDue: () => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;
  #isStopped = false;

  constructor(onDue: () => void, now: () => number) {
    this.#onDue = onDue;
    this.#now = now;
  }

  /** Fire at epoch ms `at` unless already armed for an earlier time. */
  arm(at: number): void {
    if (this.#isStopped || at >= this.#armedAt) return;
    clearTimeout(this.#timer);
    this.#armedAt = at;
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, at - this.#now()));
    this.#timer = setTimeout(() => {
      this.reset();
      this.#onDue();
    }, delayMs);
    this.#timer.unref();
  }

  /** Forget the armed time without firing, so the next `arm` sets it afresh. */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  stop(): void {
    this.#isStopped = true;
    this.reset();
  }
}
