/**
 * Who is asking for a publish slot. `control` (command responses, job updates) goes before `bulk`
 * (telemetry, shadow requests): a response held behind a backlog of telemetry would time the command out.
 */
export type PublishPriority = 'control' | 'bulk';

/** Ends a slot's exchange: call once its PUBACK (or HTTPS answer) arrived, it failed, or it was not sent. */
export type ReleaseSlot = () => void;

export interface PublishBudgetOptions {
  /** Publishes the service allows per `windowMs` (IoT Core: 100 per second). */
  limit: number;
  windowMs: number;
  now?: () => number;
}

interface Waiter {
  grant: () => void;
  onAbort: () => void;
}

/**
 * The one publish budget of a connection to IoT Core, which counts every PUBLISH a client sends against
 * its 100/s (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits): telemetry, shadow requests, command
 * responses and job updates all
 * take a slot here before they go on the wire.
 *
 * A slot is busy from the grant until `windowMs` after its release. The service counts a publish when it
 * arrives, which is after we granted it and before its PUBACK came back; so two publishes `limit` slots
 * apart always arrive at least a window apart, however the network, the socket buffers or a stalled event
 * loop bunch them up on the way — a limiter that only counts grants (a token bucket) cannot promise that.
 * The price is one round trip per slot: ~95 publishes/s at 50 ms to the service.
 *
 * Waiters are served `control` first, FIFO within a priority. Safe for concurrent callers.
 */
export class PublishBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Slots granted and not yet released. */
  #held = 0;
  /** When each recently released slot was released, oldest first; busy until `windowMs` after. */
  readonly #releasedAt: number[] = [];
  readonly #queues: Record<PublishPriority, Waiter[]> = { control: [], bulk: [] };
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PublishBudgetOptions) {
    this.#limit = Math.max(1, Math.floor(options.limit));
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Resolves with the slot's release once one publish may go out; rejects with the signal's reason if it
   * aborts first. Every slot must be released exactly once (further calls are ignored).
   */
  take(priority: PublishPriority, signal: AbortSignal): Promise<ReleaseSlot> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.#waiting() === 0 && this.#hasFreeSlot()) return Promise.resolve(this.#grant());
    return new Promise((resolve, reject) => {
      const queue = this.#queues[priority];
      const waiter: Waiter = {
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(this.#grant());
        },
        onAbort: () => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(signal.reason as Error);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      queue.push(waiter);
      this.#schedule();
    });
  }

  #waiting(): number {
    return this.#queues.control.length + this.#queues.bulk.length;
  }

  #hasFreeSlot(): boolean {
    const cutoff = this.#now() - this.#windowMs;
    while (this.#releasedAt.length > 0 && this.#releasedAt[0]! <= cutoff) this.#releasedAt.shift();
    return this.#held + this.#releasedAt.length < this.#limit;
  }

  #grant(): ReleaseSlot {
    this.#held += 1;
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.#held -= 1;
      this.#releasedAt.push(this.#now());
      this.#schedule();
    };
  }

  /** Wake the waiters when the oldest released slot becomes free again. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#waiting() === 0 || this.#releasedAt.length === 0) return;
    const waitMs = this.#releasedAt[0]! + this.#windowMs - this.#now();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(1, waitMs),
    );
  }

  #pump(): void {
    while (this.#waiting() > 0 && this.#hasFreeSlot()) {
      const waiter = this.#queues.control.shift() ?? this.#queues.bulk.shift();
      waiter!.grant();
    }
    this.#schedule();
  }
}
