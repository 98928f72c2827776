import type { Reading } from '../model.js';

/**
 * A pipeline stage (docs/architecture.md#stage): pure and synchronous, no I/O, no timers of its own. The
 * pipeline calls
 * `process` for every batch of readings and, for windowed stages, `flush` on a tick and on shutdown.
 * Time is passed in, so stages are tested without fake timers.
 */
export interface Stage {
  readonly name: string;
  /** Returns the readings to pass on (possibly fewer, possibly changed). Must not mutate its input. */
  process(readings: readonly Reading[], now: number): Reading[];
  /** Windowed stages: emit windows that closed by `now`, or every open window when `final`. */
  flush?(now: number, final: boolean): Reading[];
}
