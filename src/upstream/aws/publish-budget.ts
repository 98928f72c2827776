/**
 * Who is asking for a publish slot. `control` (command responses, job updates) goes before `bulk`
 * (telemetry, shadow requests): a response held behind a backlog of telemetry would time the command out.
 */
export type PublishPriority = 'control' | 'bulk';

/** Ends a slot's exchange: call once its PUBACK (or HTTPS answer) arrived, it failed, or it was not sent. */
export type ReleaseSlot = () => void;

export interface PublishBudgetOptions {
  /** Publishes the service allows per `windowMs`, both directions together (IoT Core: 100 per second). */
  limit: number;
  windowMs: number;
  /**
   * Slots never granted to our own publishes, kept for inbound ones we cannot foresee (shadow deltas,
   * commands, job notifications) that arrive after the window filled up. Default: a fifth of `limit`.
   */
  reserve?: number;
  now?: () => number;
}

interface Waiter {
  cost: number;
  grant: () => void;
  onAbort: () => void;
}

/** The share of the budget kept for inbound publishes by default. */
const DEFAULT_RESERVE_SHARE = 0.2;

/**
 * The one publish budget of a connection to IoT Core, which counts every PUBLISH on the connection against
 * its 100/s, inbound and outbound together, and silently discards the excess
 * (docs/clouds/aws-iot-core.md#mqtt-rules-and-limits): telemetry, shadow requests, command responses and job
 * updates take a slot here before they go on the wire, and every publish that arrives (shadow answers,
 * deltas, commands, job notifications) is noted with `noteInbound` and holds a slot for a window too.
 *
 * A slot is busy from the grant until `windowMs` after its release. The service counts a publish when it
 * arrives, which is after we granted it and before its PUBACK came back; so two publishes `limit` slots
 * apart always arrive at least a window apart, however the network, the socket buffers or a stalled event
 * loop bunch them up on the way — a limiter that only counts grants (a token bucket) cannot promise that.
 * The price is one round trip per slot: ~95 publishes/s at 50 ms to the service.
 *
 * Inbound publishes are counted when they arrive, which is too late for the ones the service sends in the
 * same second as ours, so our own publishes never use the last `reserve` slots; and a request that the
 * service answers (a shadow get or update, a Jobs request) takes a second slot for its answer up front,
 * held with the request. The answer is noted again when it arrives, so it counts twice for up to a window:
 * a little throughput traded for never crossing the limit.
 *
 * Waiters are served `control` first, FIFO within a priority. Safe for concurrent callers.
 */
export class PublishBudget {
  readonly #limit: number;
  readonly #reserve: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  /** Slots granted and not yet released. */
  #held = 0;
  /** When each recently released slot was released, oldest first; busy until `windowMs` after. */
  readonly #releasedAt: number[] = [];
  /** When each recent inbound publish arrived, oldest first; busy until `windowMs` after. */
  readonly #inboundAt: number[] = [];
  readonly #queues: Record<PublishPriority, Waiter[]> = { control: [], bulk: [] };
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PublishBudgetOptions) {
    this.#limit = Math.max(1, Math.floor(options.limit));
    const reserve = options.reserve ?? Math.floor(this.#limit * DEFAULT_RESERVE_SHARE);
    // At least one slot stays ours, however small the limit.
    this.#reserve = Math.min(Math.max(0, Math.floor(reserve)), this.#limit - 1);
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Resolves with the slot's release once one publish may go out; rejects with the signal's reason if it
   * aborts first. `answers` more slots are held with it for the publishes the service will send back
   * (1 for a shadow or Jobs request). Every slot must be released exactly once (further calls are ignored).
   */
  take(priority: PublishPriority, signal: AbortSignal, answers = 0): Promise<ReleaseSlot> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const cost = Math.min(1 + Math.max(0, Math.floor(answers)), this.#limit - this.#reserve);
    if (this.#waiting() === 0 && this.#hasRoomFor(cost)) return Promise.resolve(this.#grant(cost));
    return new Promise((resolve, reject) => {
      const queue = this.#queues[priority];
      const waiter: Waiter = {
        cost,
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(this.#grant(cost));
        },
        onAbort: () => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(signal.reason as Error);
          // The next waiter may need fewer slots than this one did.
          this.#pump();
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      queue.push(waiter);
      this.#schedule();
    });
  }

  /** A publish from the service arrived on the connection: it counts against the same budget. */
  noteInbound(): void {
    this.#inboundAt.push(this.#now());
  }

  /** Publishes counted in the current window: ours held or recently released, and inbound ones. */
  get used(): number {
    this.#prune();
    return this.#held + this.#releasedAt.length + this.#inboundAt.length;
  }

  #waiting(): number {
    return this.#queues.control.length + this.#queues.bulk.length;
  }

  #prune(): void {
    const cutoff = this.#now() - this.#windowMs;
    while (this.#releasedAt.length > 0 && this.#releasedAt[0]! <= cutoff) this.#releasedAt.shift();
    while (this.#inboundAt.length > 0 && this.#inboundAt[0]! <= cutoff) this.#inboundAt.shift();
  }

  #hasRoomFor(cost: number): boolean {
    return this.used + cost <= this.#limit - this.#reserve;
  }

  #grant(cost: number): ReleaseSlot {
    this.#held += cost;
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      this.#held -= cost;
      const at = this.#now();
      for (let i = 0; i < cost; i++) this.#releasedAt.push(at);
      this.#schedule();
    };
  }

  /** Wake the waiters when the oldest busy slot (ours or inbound) becomes free again. */
  #schedule(): void {
    if (this.#timer !== undefined || this.#waiting() === 0) return;
    this.#prune();
    const oldest = Math.min(this.#releasedAt[0] ?? Infinity, this.#inboundAt[0] ?? Infinity);
    // Nothing released yet: a held slot's release schedules again.
    if (oldest === Infinity) return;
    const waitMs = oldest + this.#windowMs - this.#now();
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(1, waitMs),
    );
  }

  #pump(): void {
    for (;;) {
      const queue = this.#queues.control.length > 0 ? this.#queues.control : this.#queues.bulk;
      const head = queue[0];
      if (head === undefined || !this.#hasRoomFor(head.cost)) break;
      queue.shift();
      head.grant();
    }
    this.#schedule();
  }
}
