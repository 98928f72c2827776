import type { Reading } from '../model.js';

type Listener = (readings: readonly Reading[]) => void;

/**
 * Fan-out of the readings leaving the pipeline to live subscribers (`fieldgate tail`). Costs one Set check
 * per batch when nobody listens, so it can sit on the hot path.
 */
export class TailHub {
  readonly #listeners = new Set<Listener>();

  publish(readings: readonly Reading[]): void {
    for (const listener of this.#listeners) listener(readings);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
