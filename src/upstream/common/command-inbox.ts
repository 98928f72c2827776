import { incomingId, type CommandHandler, type IncomingCommand } from '../../commands/incoming.js';
import { FieldgateError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** Results kept while disconnected, by default; beyond this the oldest is dropped (and counted). */
const OUTBOX_LIMIT = 100;

export interface CommandInboxOptions {
  log: Logger;
  /** Results kept while disconnected at most; default {@link OUTBOX_LIMIT}. */
  outboxLimit?: number;
  /** The gateway clock (epoch ms): how long results waited in the outbox is logged when they go out. */
  now?: () => number;
}

/** Publishes one result message on the live connection; true only once the cloud acknowledged it. */
export type PublishOnce<T> = (message: T) => Promise<boolean>;

/**
 * The command side every connector shares, composed into it (docs/architecture.md#upstream): the router's
 * handler, safe dispatch, the offline result outbox and the closed state. Single-threaded like its owner.
 *
 * - `dispatch` never throws: true when the handler took the command; false when the inbox is closed, no
 *   handler is registered yet (WARN) or it threw (ERROR). On false a connector gives the message back to
 *   the cloud where it can (AMQP release, HTTPS abandon, a direct method's 503).
 * - `publish` sends a result now or keeps it: at most `outboxLimit` in memory; one more drops the oldest,
 *   counted, one WARN per outage. `flush` sends them oldest first, one flush at a time (one asked for
 *   meanwhile carries on with the newer `publishOnce`); a result leaves only once acknowledged, and one
 *   INFO says how many went out and were dropped. The strictest of the three outboxes it replaced.
 * - After `close()`, `throwIfClosed` (connect) throws `FG_UPSTREAM_OFFLINE`; a result is neither sent nor
 *   kept (`refusesResult`: one WARN, then DEBUG; `publishResult` must not throw); nothing is dispatched;
 *   results still kept are dropped and logged.
 */
export class CommandInbox<T = never> {
  readonly #log: Logger;
  readonly #limit: number;
  readonly #now: () => number;
  #handler: CommandHandler | undefined;
  #outbox: T[] = [];
  #dropped = 0;
  /** The current offline episode: results kept, sent from the outbox, dropped. */
  #episode = { kept: 0, sent: 0, dropped: 0, firstKeptAt: 0 };
  #flushing: Promise<void> = Promise.resolve();
  #isFlushing = false;
  #flushWith: PublishOnce<T> | undefined;
  #isClosed = false;
  #hasWarnedClosed = false;

  constructor(options: CommandInboxOptions) {
    this.#log = options.log;
    this.#limit = options.outboxLimit ?? OUTBOX_LIMIT;
    this.#now = options.now ?? Date.now;
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  /** Hand a received command to the handler; true when it took it (see the class comment). */
  dispatch(incoming: IncomingCommand, fields: Record<string, unknown> = {}): boolean {
    const context = { ...fields, commandId: incomingId(incoming) };
    if (this.#isClosed) {
      this.#log.debug(context, 'Command received after the upstream closed; not taken.');
      return false;
    }
    if (this.#handler === undefined) {
      this.#log.warn(context, 'Command received before a handler was registered; not taken.');
      return false;
    }
    try {
      this.#handler(incoming);
      return true;
    } catch (e) {
      this.#log.error({ ...context, err: e }, 'The command handler threw; the command was not taken.');
      return false;
    }
  }

  /** Rejects with `FG_UPSTREAM_OFFLINE` once `close()` was called. */
  throwIfClosed(): void {
    if (this.#isClosed) throw new FieldgateError('FG_UPSTREAM_OFFLINE', 'The upstream is closed.');
  }

  /**
   * True, and logged, when the inbox is closed: the result of `commandId` is not sent (a connector's
   * `publishResult` then returns at once).
   */
  refusesResult(commandId: string): boolean {
    if (!this.#isClosed) return false;
    const message = 'The upstream is closed; a command result was not sent.';
    if (this.#hasWarnedClosed) this.#log.debug({ commandId }, message);
    else this.#log.warn({ commandId }, message);
    this.#hasWarnedClosed = true;
    return true;
  }

  /**
   * Publish a result message now, or keep it for the next connection when `publishOnce` says it did not
   * get through. Neither once the inbox is (or got) closed: see `refusesResult`.
   */
  async publish(commandId: string, message: T, publishOnce: PublishOnce<T>): Promise<void> {
    if (this.refusesResult(commandId)) return;
    if ((await publishOnce(message)) || this.refusesResult(commandId)) return;
    if (this.#episode.kept === 0) this.#episode.firstKeptAt = this.#now();
    this.#episode.kept += 1;
    this.#outbox.push(message);
    if (this.#outbox.length <= this.#limit) return;
    this.#outbox.shift();
    this.#dropped += 1;
    this.#episode.dropped += 1;
    if (this.#episode.dropped === 1) {
      this.#log.warn(
        { limit: this.#limit },
        'Result outbox full while offline; dropping the oldest results until the connection is back.',
      );
    }
  }

  /** Send the kept results, oldest first, with `publishOnce` of the connection that just came up. */
  flush(publishOnce: PublishOnce<T>): Promise<void> {
    this.#flushWith = publishOnce;
    if (!this.#isFlushing) {
      this.#isFlushing = true;
      this.#flushing = this.#drain();
    }
    return this.#flushing;
  }

  /** Results kept now, and dropped since the start (outbox full, or still kept at close). */
  stats(): { kept: number; dropped: number } {
    return { kept: this.#outbox.length, dropped: this.#dropped };
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const lost = this.#outbox.length;
    this.#outbox = [];
    if (lost === 0) return;
    this.#dropped += lost;
    this.#log.warn(
      { dropped: lost },
      'The upstream closed with results still kept while offline; they are lost.',
    );
  }

  async #drain(): Promise<void> {
    try {
      while (this.#outbox.length > 0 && !this.#isClosed) {
        const publishOnce = this.#flushWith!;
        const entry = this.#outbox[0]!;
        if (!(await publishOnce(entry))) {
          // A newer connection asked for a flush meanwhile: go on there; else wait for the next one.
          if (publishOnce !== this.#flushWith) continue;
          return;
        }
        // Only now, and only this one: the outbox may have moved on (dropped the oldest) meanwhile.
        if (this.#outbox[0] === entry) this.#outbox.shift();
        this.#episode.sent += 1;
      }
      this.#endEpisode();
    } finally {
      // Synchronously with the last step, so that a flush asked for right after starts a new drain.
      this.#isFlushing = false;
    }
  }

  #endEpisode(): void {
    const { kept, sent, dropped, firstKeptAt } = this.#episode;
    if (this.#isClosed || kept === 0) return;
    this.#log.info(
      { sent, dropped, waitedMs: this.#now() - firstKeptAt },
      'Sent the command results kept while offline.',
    );
    this.#episode = { kept: 0, sent: 0, dropped: 0, firstKeptAt: 0 };
  }
}
