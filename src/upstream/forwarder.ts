import { setTimeout as delay } from 'node:timers/promises';
import { errorMessage, isFieldgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Lease, Queue, Settlement } from '../queue/queue.js';
import { Backoff, type BackoffHint } from './backoff.js';
import { LiveShare } from './live-share.js';
import type { SendResult, Upstream } from './upstream.js';

export type ForwarderState = 'connecting' | 'idle' | 'sending' | 'backoff' | 'closed';

export interface ForwarderOptions {
  route: string;
  queue: Queue;
  upstream: Upstream;
  /** Bounds of one lease; the upstream may still split it into several messages. */
  batch: { maxItems: number; maxBytes: number };
  drain: 'fifo' | 'liveFirst';
  /** With `liveFirst`: the share of leases, while a backlog exists, that take the newest items. */
  liveShare: number;
  backoff: { initialMs: number; maxMs: number };
  log: Logger;
  /** Clock for the timestamps in `status()`; delays themselves are real timers. */
  now?: () => number;
  /** Jitter source for the backoff; injectable for tests. */
  random?: () => number;
}

export interface ForwarderStatus {
  route: string;
  state: ForwarderState;
  lastError?: string;
  /** Epoch ms when the current outage began; absent while healthy. */
  offlineSince?: number;
  /** Epoch ms of the next attempt, while in `backoff`. */
  nextAttemptAt?: number;
  /** Sends that delivered at least part of their batch (an upstream may split a batch into messages). */
  sentMessages: number;
  sentReadings: number;
  /** Failed connects and sends. */
  failures: number;
  /** Readings dead-lettered because the upstream refused them permanently. */
  rejected: number;
}

/**
 * Moves one route's queue to its upstream (DESIGN.md §4): an explicit state machine
 * `connecting → idle → sending → (idle | backoff)`, ending in `closed`.
 *
 * Every lease it takes is settled on every path (delivered items acked, refused ones dead-lettered, the
 * rest returned to the head of the queue), so nothing committed is lost to a failure here. It reconnects
 * with jittered backoff, logs WARN once per outage and INFO when the upstream is back.
 */
export class Forwarder {
  readonly #options: ForwarderOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #liveShare: LiveShare;
  /** Aborted by `stop()` at once: ends waits, backoff sleeps and connecting. */
  readonly #stopping = new AbortController();
  /** Aborted `graceMs` after `stop()`: ends an in-flight send. */
  readonly #sendAbort = new AbortController();
  #state: ForwarderState = 'idle';
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #lastError: string | undefined;
  #offlineSince: number | undefined;
  #nextAttemptAt: number | undefined;
  #sentMessages = 0;
  #sentReadings = 0;
  #failures = 0;
  #rejected = 0;

  constructor(options: ForwarderOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'forwarder', route: options.route });
    this.#now = options.now ?? Date.now;
    this.#backoff = new Backoff({
      ...options.backoff,
      ...(options.random ? { random: options.random } : {}),
    });
    this.#liveShare = new LiveShare(options.drain === 'liveFirst' ? options.liveShare : 0);
  }

  /** Begin forwarding in the background. Never blocks; calling it again (or after stop) does nothing. */
  start(): void {
    if (this.#loop !== undefined || this.#stopping.signal.aborted) return;
    this.#state = 'connecting';
    this.#loop = this.#run();
  }

  /**
   * Stop: waits end at once, an in-flight send may finish within `graceMs` and is then aborted (its items go
   * back to the queue), and the upstream is closed. Resolves when all of that is done; idempotent.
   */
  stop(graceMs: number): Promise<void> {
    this.#stopped ??= this.#stop(graceMs);
    return this.#stopped;
  }

  status(): ForwarderStatus {
    const status: ForwarderStatus = {
      route: this.#options.route,
      state: this.#state,
      sentMessages: this.#sentMessages,
      sentReadings: this.#sentReadings,
      failures: this.#failures,
      rejected: this.#rejected,
    };
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#offlineSince !== undefined) status.offlineSince = this.#offlineSince;
    if (this.#state === 'backoff' && this.#nextAttemptAt !== undefined)
      status.nextAttemptAt = this.#nextAttemptAt;
    return status;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#stopping.abort();
    const graceTimer = setTimeout(() => this.#sendAbort.abort(), graceMs);
    try {
      await this.#loop;
    } finally {
      clearTimeout(graceTimer);
      this.#state = 'closed';
      await this.#options.upstream.close();
      this.#log.info(this.#counters(), 'Forwarder stopped.');
    }
  }

  async #run(): Promise<void> {
    const { queue, upstream } = this.#options;
    const stopping = this.#stopping.signal;
    while (!stopping.aborted) {
      try {
        if (!upstream.isConnected) {
          this.#state = 'connecting';
          await upstream.connect(stopping);
          this.#log.debug('Connected.');
          // With a backlog, the first delivery ends the outage; with none, being connected is all there is.
          if (queue.stats().depth === 0) this.#healthy();
          continue;
        }
        this.#state = 'idle';
        await queue.waitForItems(stopping);
        if (stopping.aborted) break;
        const lease = await this.#lease();
        if (lease === null) continue;
        this.#state = 'sending';
        await this.#sendAndSettle(lease);
      } catch (e) {
        if (stopping.aborted) break;
        await this.#failed(errorMessage(e), {}, e);
      }
    }
  }

  #lease(): Promise<Lease | null> {
    const { queue, batch } = this.#options;
    const stats = queue.stats();
    const hasBacklog = stats.depth - stats.inFlight > batch.maxItems;
    const newestFirst = this.#liveShare.takeNewest(hasBacklog);
    return queue.lease(batch.maxItems, batch.maxBytes, { newestFirst });
  }

  /** Send one lease and settle it by the result; the lease is settled even if the send throws. */
  async #sendAndSettle(lease: Lease): Promise<void> {
    let result: SendResult;
    try {
      result = await this.#options.upstream.send(lease.items, this.#sendAbort.signal);
    } catch (e) {
      // A connector bug, not a network condition (those come back as `retry`): keep the data, say so.
      this.#log.error({ err: e }, 'The upstream threw from send; the batch is kept and retried.');
      result = { kind: 'retry', reason: errorMessage(e) };
    }
    await this.#options.queue.settle(lease, settlementFor(lease, result));
    this.#count(lease, result);
    switch (result.kind) {
      case 'ok':
        this.#healthy();
        return;
      case 'reject':
        this.#log.error(
          { items: lease.items.length, reason: result.reason },
          'Upstream refused readings; dead-lettered.',
        );
        return;
      case 'partial':
        if (result.acked.length > 0) this.#healthy();
        if (result.rejected.length > 0) {
          this.#log.error(
            { items: result.rejected.length, reason: result.rejected[0]?.reason },
            'Upstream refused readings; dead-lettered.',
          );
        }
        // Items in neither list went back to the queue: the send broke off part-way.
        if (result.acked.length + result.rejected.length < lease.items.length) {
          await this.#failed('send broke off part-way', {});
        }
        return;
      case 'retry': {
        const hint: BackoffHint = {};
        if (result.retryAfterMs !== undefined) hint.retryAfterMs = result.retryAfterMs;
        if (result.kicked !== undefined) hint.kicked = result.kicked;
        await this.#failed(result.reason, hint);
        return;
      }
    }
  }

  #count(lease: Lease, result: SendResult): void {
    switch (result.kind) {
      case 'ok':
        this.#sentMessages += 1;
        this.#sentReadings += lease.items.length;
        return;
      case 'partial':
        if (result.acked.length > 0) this.#sentMessages += 1;
        this.#sentReadings += result.acked.length;
        this.#rejected += result.rejected.length;
        return;
      case 'reject':
        this.#rejected += lease.items.length;
        return;
      case 'retry':
        return;
    }
  }

  /** Something failed: count it, open an outage episode if none is open, and sleep out the backoff. */
  async #failed(reason: string, hint: BackoffHint, error?: unknown): Promise<void> {
    // Our own stop() aborted the attempt: not an outage, and there is no next attempt to wait for.
    if (this.#stopping.signal.aborted) return;
    this.#failures += 1;
    this.#lastError = reason;
    if (this.#offlineSince === undefined) {
      this.#offlineSince = this.#now();
      const code = isFieldgateError(error) ? error.code : undefined;
      this.#log.warn({ reason, code }, 'Upstream unavailable; keeping readings queued and retrying.');
    }
    const delayMs = this.#backoff.next(hint);
    this.#state = 'backoff';
    this.#nextAttemptAt = this.#now() + delayMs;
    this.#log.debug({ reason, delayMs, attempt: this.#backoff.attempts }, 'Backing off.');
    try {
      await delay(delayMs, undefined, { signal: this.#stopping.signal });
    } catch {
      // Aborted by stop(): the loop sees it and ends.
    }
    this.#nextAttemptAt = undefined;
  }

  /** Data reached the cloud, or we are connected with nothing to send: any outage is over. */
  #healthy(): void {
    this.#backoff.reset();
    if (this.#offlineSince === undefined) return;
    const downMs = this.#now() - this.#offlineSince;
    this.#offlineSince = undefined;
    this.#log.info({ downMs }, 'Upstream is back; forwarding resumed.');
  }

  #counters(): Record<string, number> {
    return {
      sentMessages: this.#sentMessages,
      sentReadings: this.#sentReadings,
      failures: this.#failures,
      rejected: this.#rejected,
    };
  }
}

/** What the queue should do with a lease after a send: acked deleted, rejected dead-lettered, rest kept. */
export function settlementFor(lease: Lease, result: SendResult): Settlement {
  switch (result.kind) {
    case 'ok':
      return { ack: lease.items.map((e) => e.gseq) };
    case 'partial':
      return { ack: result.acked, reject: result.rejected };
    case 'reject':
      return { reject: lease.items.map((e) => ({ gseq: e.gseq, reason: result.reason })) };
    case 'retry':
      return {};
  }
}
