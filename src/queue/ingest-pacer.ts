import { performance } from 'node:perf_hooks';
import { ItemSignal } from './item-signal.js';

export interface IngestPacerOptions {
  /** Unleased items above which an append waits for the consumer. */
  backlogItems: number;
  /** The longest one append waits. */
  maxWaitMs: number;
  /** A consumer that took a lease within this window counts as delivering. */
  activeWindowMs: number;
}

/** Defaults: about ten forwarder leases of backlog, and half a commit interval of wait. */
export const DEFAULT_PACING: IngestPacerOptions = {
  backlogItems: 5000,
  maxWaitMs: 100,
  activeWindowMs: 1000,
};

/**
 * Ties ingestion to delivery (docs/architecture.md#queue). On one event loop, appends arriving faster than
 * the forwarder
 * delivers would otherwise take the CPU from it: the backlog grows and delivery falls. So while a consumer
 * is leasing and the unleased backlog is above `backlogItems`, an append first waits until the backlog
 * falls below it, or `maxWaitMs` at most. It only delays: nothing is dropped here, and the overflow policy
 * still decides at admission. With no consumer leasing (upstream down, backing off) appends never wait, so
 * an outage fills the queue exactly as before.
 */
export class IngestPacer {
  readonly #options: IngestPacerOptions;
  readonly #progress = new ItemSignal();
  #lastLeaseAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: IngestPacerOptions = DEFAULT_PACING) {
    this.#options = options;
  }

  /** A consumer took a lease. */
  noteLease(): void {
    this.#lastLeaseAtMs = performance.now();
  }

  /** Items were removed; wakes waiting appends once the backlog is low enough. */
  noteBacklog(backlogItems: number): void {
    if (backlogItems <= this.#options.backlogItems) this.#progress.notify();
  }

  /** Resolves at once, or when the backlog is low enough, `maxWaitMs` passed, or `signal` aborted. */
  async pace(backlogItems: number, signal: AbortSignal): Promise<void> {
    const { activeWindowMs, maxWaitMs } = this.#options;
    if (backlogItems <= this.#options.backlogItems) return;
    if (performance.now() - this.#lastLeaseAtMs > activeWindowMs) return;
    await this.#progress.wait(AbortSignal.any([signal, AbortSignal.timeout(maxWaitMs)]));
  }
}
