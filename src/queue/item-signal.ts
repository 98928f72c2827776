/** Wakes `waitForItems` callers when items may have become available (a commit, a lease returned). */
export class ItemSignal {
  #waiters = new Set<() => void>();

  /** Resolves at the next `notify()` or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const wake = (): void => {
        this.#waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.#waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
