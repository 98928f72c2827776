import { DailyBilling, type RouteBilling } from './route-billing.js';
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
  /**
   * Leases sent at once, at most. Capped by the upstream's `maxConcurrentSends` (1 when it declares none),
   * so a connector that was not written for overlapping sends never sees them.
   */
  maxInFlight: number;
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
  /** Epoch ms when the upstream last connected; absent while it is not connected. */
  connectedSince?: number;
  /** Epoch ms of the next attempt, while in `backoff`. */
  nextAttemptAt?: number;
  /** Sends that delivered at least part of their batch (an upstream may split a batch into messages). */
  sentMessages: number;
  sentReadings: number;
  /** Failed connects and sends. */
  failures: number;
  /** Readings dead-lettered because the upstream refused them permanently. */
  rejected: number;
  /** The cloud's billing units for what this route delivered, when the upstream meters them (Azure). */
  billedUnits?: number;
  /** What the cloud bills for this route, per UTC day and since start, when the upstream meters it. */
  billing?: RouteBilling;
}

/** A send or lease that failed in a way that calls for a backoff; the first one of a round is acted on. */
interface Failure {
  reason: string;
  hint: BackoffHint;
  error?: unknown;
}

/**
 * Moves one route's queue to its upstream (docs/architecture.md#upstream): an explicit state machine
 * `connecting → idle → sending → (idle | backoff)`, ending in `closed`. `sending` means at least one
 * lease is in flight.
 *
 * Up to `maxInFlight` leases are in flight at once, so the daemon does not sit idle for a round trip per
 * batch. Order: each lease is FIFO and leases are taken in FIFO order, but they may complete out of order,
 * and after a failure the items of the failed lease are sent again after those of leases that succeeded
 * beside it. An upstream on one connection (MQTT) publishes in call order, so a broker sees the leases in
 * order while nothing fails.
 *
 * Every lease it takes is settled on every path (delivered items acked, refused ones dead-lettered, the
 * rest returned to the head of the queue), so nothing committed is lost to a failure here. When a send
 * fails, no new lease is taken; the sends still in flight finish and are settled, and only then does it
 * back off, so the returned items are leased again from the head in their original order. It reconnects
 * with jittered backoff, logs WARN once per outage and INFO when the upstream is back.
 */
export class Forwarder {
  readonly #options: ForwarderOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #backoff: Backoff;
  readonly #liveShare: LiveShare;
  readonly #maxInFlight: number;
  /** Aborted by `stop()` at once: ends waits, backoff sleeps and connecting. */
  readonly #stopping = new AbortController();
  /** Aborted `graceMs` after `stop()`: ends an in-flight send. */
  readonly #sendAbort = new AbortController();
  #state: ForwarderState = 'idle';
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #lastError: string | undefined;
  #offlineSince: number | undefined;
  #connectedSince: number | undefined;
  /** Whether the last thing logged about the connection was "connected": one line per transition. */
  #isUp = false;
  #nextAttemptAt: number | undefined;
  #sentMessages = 0;
  readonly #billing = new DailyBilling();
  #sentReadings = 0;
  #failures = 0;
  #rejected = 0;
  #sendsInFlight = 0;

  constructor(options: ForwarderOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'forwarder', route: options.route });
    this.#now = options.now ?? Date.now;
    this.#backoff = new Backoff({
      ...options.backoff,
      ...(options.random ? { random: options.random } : {}),
    });
    this.#liveShare = new LiveShare(options.drain === 'liveFirst' ? options.liveShare : 0);
    const upstreamMax = options.upstream.maxConcurrentSends ?? 1;
    this.#maxInFlight = Math.max(1, Math.min(options.maxInFlight, upstreamMax));
  }

  /** Begin forwarding in the background. Never blocks; calling it again (or after stop) does nothing. */
  start(): void {
    if (this.#loop !== undefined || this.#stopping.signal.aborted) return;
    this.#state = 'connecting';
    this.#loop = this.#run();
  }

  /**
   * Stop: waits end at once and no new lease is taken; the sends in flight may finish within `graceMs` and
   * are then aborted (their items go back to the queue), and the upstream is closed. Resolves when all of
   * that is done; idempotent.
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
    const billing = this.#sampleBilling();
    if (billing !== undefined) {
      status.billedUnits = billing.billedUnits;
      status.billing = billing;
    }
    if (this.#offlineSince !== undefined) status.offlineSince = this.#offlineSince;
    if (this.#connectedSince !== undefined) status.connectedSince = this.#connectedSince;
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
    let failure: Failure | undefined;
    while (!stopping.aborted) {
      try {
        if (!upstream.isConnected) {
          this.#noteDown(failure?.reason ?? 'the connection closed');
          this.#state = 'connecting';
          await upstream.connect(stopping);
          this.#noteUp();
          failure = undefined;
          // With a backlog, the first delivery ends the outage; with none, being connected is all there is.
          if (queue.stats().depth === 0) this.#healthy();
          continue;
        }
        failure = await this.#forward();
      } catch (e) {
        failure = { reason: errorMessage(e), hint: {}, error: e };
        this.#countFailure();
      }
      // Our own stop() aborted the attempt: not an outage, and there is no next attempt to wait for.
      if (failure !== undefined && !stopping.aborted) await this.#backOff(failure);
      else failure = undefined;
    }
  }

  /** INFO once per transition to connected (not per retry). */
  #noteUp(): void {
    if (this.#isUp) return;
    this.#isUp = true;
    this.#connectedSince = this.#now();
    this.#log.info('Upstream connected.');
  }

  /** INFO once per transition to disconnected, with the reason the last round ended. */
  #noteDown(reason: string): void {
    if (!this.#isUp) return;
    this.#isUp = false;
    this.#connectedSince = undefined;
    this.#log.info({ reason }, 'Upstream disconnected.');
  }

  /**
   * One round of forwarding: `#maxInFlight` lanes each lease, send and settle, until a send fails or stop()
   * begins. Resolves once every lease of the round is settled, with the round's first failure, if any.
   */
  async #forward(): Promise<Failure | undefined> {
    this.#state = 'idle';
    const halt = new AbortController();
    const signal = AbortSignal.any([this.#stopping.signal, halt.signal]);
    let first: Failure | undefined;
    const fail = (failure: Failure): void => {
      this.#countFailure();
      first ??= failure;
      halt.abort();
    };
    const lanes = Array.from({ length: this.#maxInFlight }, () => this.#lane(signal, fail));
    await Promise.all(lanes);
    return first;
  }

  /**
   * Lease, send and settle, one lease at a time, until `signal` aborts or the connection is gone (the
   * round then ends without a failure and `#run` reconnects at once); failures go to `fail`.
   */
  async #lane(signal: AbortSignal, fail: (failure: Failure) => void): Promise<void> {
    while (!signal.aborted && this.#options.upstream.isConnected) {
      try {
        await this.#options.queue.waitForItems(signal);
        if (signal.aborted) return;
        const lease = await this.#lease();
        if (lease === null) continue;
        const failure = await this.#sendAndSettle(lease);
        if (failure !== undefined) fail(failure);
      } catch (e) {
        fail({ reason: errorMessage(e), hint: {}, error: e });
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

  /**
   * Send one lease and settle it by the result; the lease is settled even if the send throws. Resolves
   * with a failure when the result calls for a backoff.
   */
  async #sendAndSettle(lease: Lease): Promise<Failure | undefined> {
    this.#sendsInFlight += 1;
    this.#state = 'sending';
    let result: SendResult;
    try {
      result = await this.#options.upstream.send(lease.items, this.#sendAbort.signal);
    } catch (e) {
      // A connector bug, not a network condition (those come back as `retry`): keep the data, say so.
      this.#log.error({ err: e }, 'The upstream threw from send; the batch is kept and retried.');
      result = { kind: 'retry', reason: errorMessage(e) };
    } finally {
      this.#sendsInFlight -= 1;
    }
    try {
      await this.#options.queue.settle(lease, settlementFor(lease, result));
    } finally {
      if (this.#sendsInFlight === 0 && this.#state === 'sending') this.#state = 'idle';
    }
    this.#count(lease, result);
    switch (result.kind) {
      case 'ok':
        this.#healthy();
        return undefined;
      case 'reject':
        this.#log.error(
          { items: lease.items.length, reason: result.reason },
          'Upstream refused readings; dead-lettered.',
        );
        return undefined;
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
          return { reason: 'send broke off part-way', hint: {} };
        }
        return undefined;
      case 'retry': {
        const hint: BackoffHint = {};
        if (result.retryAfterMs !== undefined) hint.retryAfterMs = result.retryAfterMs;
        if (result.kicked !== undefined) hint.kicked = result.kicked;
        return { reason: result.reason, hint };
      }
    }
  }

  #sampleBilling(): RouteBilling | undefined {
    const stats = this.#options.upstream.stats?.();
    return stats === undefined ? undefined : this.#billing.sample(stats, this.#now());
  }

  #count(lease: Lease, result: SendResult): void {
    if (result.kind === 'ok' || result.kind === 'partial') this.#sampleBilling();
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

  /** Failed connects and sends; what our own stop() aborted does not count. */
  #countFailure(): void {
    if (!this.#stopping.signal.aborted) this.#failures += 1;
  }

  /** A round failed: open an outage episode if none is open, and sleep out the backoff. */
  async #backOff({ reason, hint, error }: Failure): Promise<void> {
    this.#lastError = reason;
    if (!this.#options.upstream.isConnected) this.#noteDown(reason);
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
