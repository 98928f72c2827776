import type { CommandResult } from '../model.js';

/**
 * The results of the most recently finished commands, by command id, bounded to `capacity` entries (least
 * recently seen evicted first). Clouds redeliver at-least-once; this is how a redelivered command is
 * recognised and ignored without growing memory forever.
 */
export class RecentResults {
  readonly #capacity: number;
  // A Map iterates in insertion order, so re-inserting on every touch keeps the oldest entry first.
  readonly #results = new Map<string, CommandResult>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get(id: string): CommandResult | undefined {
    const result = this.#results.get(id);
    if (result !== undefined) this.#touch(id, result);
    return result;
  }

  set(id: string, result: CommandResult): void {
    this.#touch(id, result);
    if (this.#results.size > this.#capacity) {
      const oldest = this.#results.keys().next();
      if (oldest.done !== true) this.#results.delete(oldest.value);
    }
  }

  #touch(id: string, result: CommandResult): void {
    this.#results.delete(id);
    this.#results.set(id, result);
  }
}
