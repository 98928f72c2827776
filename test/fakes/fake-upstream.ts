import { FieldgateError } from '../../src/errors.js';
import type { CommandResult, Envelope } from '../../src/model.js';
import type { CommandHandler, SendResult, Upstream, UpstreamLimits } from '../../src/upstream/upstream.js';

/**
 * How the fake cloud behaves, by failure mode:
 * - `ok`: connects, acknowledges every batch.
 * - `offline`: connect rejects with FG_UPSTREAM_OFFLINE; sends report `retry`.
 * - `throttled`: connected, but every send is answered `retry` with a `retryAfterMs` hint.
 * - `stalled`: connected, but a send never completes until its signal aborts (then `retry`).
 * - `rejecting`: connected, and every batch is permanently refused (`reject`).
 */
export type FakeUpstreamMode = 'ok' | 'offline' | 'throttled' | 'stalled' | 'rejecting';

/** A behavioural fake of `Upstream` that records what it was asked to do. Switch modes at any time. */
export class FakeUpstream implements Upstream {
  readonly limits: UpstreamLimits = {
    maxMessageBytes: 1e6,
    maxMessagesPerSecond: Infinity,
    billingUnitBytes: 0,
  };
  mode: FakeUpstreamMode;
  /** The hint a `throttled` send returns. */
  retryAfterMs = 1;
  connects = 0;
  closes = 0;
  /** The gseqs of every batch passed to `send`, in call order. */
  readonly sends: number[][] = [];
  /** gseqs the fake cloud acknowledged. */
  readonly delivered: number[] = [];
  readonly results: { command: { id: string; device?: string }; result: CommandResult }[] = [];
  /** Called each time a send starts in `stalled` mode (for tests that must act mid-send). */
  onStall: (() => void) | undefined;
  #isConnected = false;
  #handler: CommandHandler | undefined;

  constructor(mode: FakeUpstreamMode = 'ok') {
    this.mode = mode;
  }

  get isConnected(): boolean {
    return this.#isConnected && this.mode !== 'offline';
  }

  connect(signal: AbortSignal): Promise<void> {
    this.connects += 1;
    signal.throwIfAborted();
    if (this.mode === 'offline') {
      return Promise.reject(new FieldgateError('FG_UPSTREAM_OFFLINE', 'The fake cloud is offline.'));
    }
    this.#isConnected = true;
    return Promise.resolve();
  }

  async send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    this.sends.push(batch.map((e) => e.gseq));
    switch (this.mode) {
      case 'ok':
        this.delivered.push(...batch.map((e) => e.gseq));
        return { kind: 'ok' };
      case 'offline':
        this.#isConnected = false;
        return { kind: 'retry', reason: 'offline' };
      case 'throttled':
        return { kind: 'retry', reason: 'throttled', retryAfterMs: this.retryAfterMs };
      case 'stalled':
        await new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          this.onStall?.();
        });
        return { kind: 'retry', reason: 'aborted' };
      case 'rejecting':
        return { kind: 'reject', reason: 'malformed' };
    }
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  /** Deliver a command as if the cloud sent it. */
  emitCommand(...args: Parameters<CommandHandler>): void {
    this.#handler?.(...args);
  }

  publishResult(command: { id: string; device?: string }, result: CommandResult): Promise<void> {
    this.results.push({ command, result });
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closes += 1;
    this.#isConnected = false;
    return Promise.resolve();
  }
}
