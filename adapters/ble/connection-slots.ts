import { FieldgateError } from '../../src/errors.js';

/**
 * Bounds the GATT connections open at once: a BLE controller holds only a few, and a connect attempt
 * beyond its limit fails in controller-specific ways. Waiters are served first come, first served.
 */
export class ConnectionSlots {
  private free: number;
  private readonly waiters: (() => void)[] = [];

  constructor(capacity: number) {
    this.free = capacity;
  }

  /**
   * Resolves with a release function once a slot is free. Rejects if `signal` aborts first, without
   * taking a slot. Call the release function exactly once.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.splice(this.waiters.indexOf(grant), 1);
        reject(new FieldgateError('FG_ADAPTER_UNAVAILABLE', 'gave up waiting for a free BLE connection'));
      };
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // A freed slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next === undefined) this.free++;
      else next();
    };
  }
}
