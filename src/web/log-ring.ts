/** One log line as the status page shows it: pino's JSON, already scrubbed of secrets. */
type Listener = (jsonLine: string) => void;

/**
 * The daemon's most recent log lines, for the status page's live log: a fixed number of lines is kept
 * (oldest dropped first), and listeners get each new line as it is written. Filled by the logger's `tap`,
 * on the event loop; a listener must not block or throw.
 */
export class LogRing {
  readonly #lines: string[] = [];
  #next = 0;
  readonly #listeners = new Set<Listener>();

  constructor(readonly capacity = 300) {}

  push(jsonLine: string): void {
    const line = jsonLine.endsWith('\n') ? jsonLine.slice(0, -1) : jsonLine;
    if (this.#lines.length < this.capacity) this.#lines.push(line);
    else this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.capacity;
    for (const listener of this.#listeners) listener(line);
  }

  /** The kept lines, oldest first. */
  lines(): string[] {
    return this.#lines.length < this.capacity
      ? [...this.#lines]
      : [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
