import type { Reading } from '../model.js';

type Listener = (readings: readonly Reading[]) => void;

/** What `status` shows of the live streams. */
export interface TailStats {
  /** Subscribers now (`fieldgate tail` clients). */
  clients: number;
  /** Readings not sent to a subscriber that read too slowly, since start. */
  droppedReadings: number;
  /** Subscribers cut off for taking nothing for too long, since start. */
  cutClients: number;
}

/**
 * Fan-out of the readings leaving the pipeline to live subscribers (`fieldgate tail`). Costs one Set check
 * per batch when nobody listens, so it can sit on the hot path. Listeners run synchronously and must not
 * block or buffer without bound: a slow subscriber drops readings (and reports them with `countDropped`).
 */
export class TailHub {
  readonly #listeners = new Set<Listener>();
  #droppedReadings = 0;
  #cutClients = 0;

  publish(readings: readonly Reading[]): void {
    for (const listener of this.#listeners) listener(readings);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  countDropped(count: number): void {
    this.#droppedReadings += count;
  }

  countCut(): void {
    this.#cutClients++;
  }

  stats(): TailStats {
    return {
      clients: this.#listeners.size,
      droppedReadings: this.#droppedReadings,
      cutClients: this.#cutClients,
    };
  }
}
