import type { Reading } from '../model.js';
import type { Stage } from '../pipeline/stage.js';

/**
 * A pipeline stage whose implementation can be replaced while the pipeline runs, so a SIGHUP can apply a new
 * filter without rebuilding the pipeline. The replacement starts with fresh state (deadband and interval
 * memory), which at worst forwards one extra value per series.
 */
export class SwappableStage implements Stage {
  #inner: Stage;

  constructor(inner: Stage) {
    this.#inner = inner;
  }

  get name(): string {
    return this.#inner.name;
  }

  replace(inner: Stage): void {
    this.#inner = inner;
  }

  process(readings: readonly Reading[], now: number): Reading[] {
    return this.#inner.process(readings, now);
  }
}
