/**
 * Group commit: many writers' operations go to storage in one write (docs/architecture.md#queue).
 *
 * A submission waits at most `intervalMs`, or less when `maxItems` items are waiting. One write runs at a
 * time and takes everything submitted before it started, so submissions are written in submission order and
 * every commit is a prefix of what was submitted.
 */
export interface GroupCommitOptions<Op> {
  intervalMs: number;
  maxItems: number;
  /** Writes one commit durably; a rejection fails every submission in that commit. */
  write: (ops: Op[]) => Promise<void>;
}

interface Pending<Op> {
  ops: Op[];
  items: number;
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

export class GroupCommit<Op> {
  readonly #options: GroupCommitOptions<Op>;
  #pending: Pending<Op> = emptyPending();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  /** Set when a commit was due while another was being written. */
  #isDue = false;
  #generation = 0;

  constructor(options: GroupCommitOptions<Op>) {
    this.#options = options;
  }

  /**
   * Identifies the commit that a submission made now joins; it changes, synchronously, when that commit is
   * taken for writing. A writer may keep adding to an op it submitted earlier (e.g. one record that grows
   * with every append) for as long as the generation is the one it submitted in.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Resolves once a commit containing `ops` has been written; `items` counts toward `maxItems`. */
  submit(ops: readonly Op[], items: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.ops.push(...ops);
      this.#pending.items += items;
      this.#pending.waiters.push({ resolve, reject });
      if (this.#pending.items >= this.#options.maxItems) this.#commitSoon();
      else this.#timer ??= setTimeout(() => this.#onTimer(), this.#options.intervalMs);
    });
  }

  /** Commit whatever is waiting now and resolve when everything submitted so far is written. */
  async flush(): Promise<void> {
    while (this.#writing !== undefined || this.#pending.waiters.length > 0) {
      this.#commitSoon();
      await this.#writing;
    }
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#commitSoon();
  }

  #commitSoon(): void {
    if (this.#writing !== undefined) {
      // The write in progress starts the next commit as soon as it finishes.
      this.#isDue = true;
      return;
    }
    if (this.#pending.waiters.length === 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = emptyPending();
    this.#generation++;
    this.#writing = this.#write(batch);
  }

  /** Never rejects: the outcome goes to the batch's waiters. */
  async #write(batch: Pending<Op>): Promise<void> {
    try {
      // Always yield first, so `#writing` is set before this settles even if `write` throws synchronously.
      await Promise.resolve();
      await this.#options.write(batch.ops);
      for (const waiter of batch.waiters) waiter.resolve();
    } catch (e) {
      for (const waiter of batch.waiters) waiter.reject(e);
    } finally {
      this.#writing = undefined;
      if (this.#isDue || this.#pending.items >= this.#options.maxItems) {
        this.#isDue = false;
        this.#commitSoon();
      }
    }
  }
}

function emptyPending<Op>(): Pending<Op> {
  return { ops: [], items: 0, waiters: [] };
}
