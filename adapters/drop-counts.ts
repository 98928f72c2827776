/** Frames an adapter dropped, counted by reason: what `Adapter.droppedFrames` reports. */
export class DropCounts<Reason extends string> {
  readonly #counts = new Map<Reason, number>();

  count(reason: Reason): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** A copy; reasons never seen are absent. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
