/** What a bounded stream writes to: an `http.ServerResponse`, or a fake in tests. */
export interface StreamSink {
  /** Bytes written but not yet taken by the peer (the response's and its socket's buffers). */
  readonly writableLength: number;
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
  destroy(): void;
}

export interface BoundedStreamOptions {
  /** Stop writing, and drop instead, once this many bytes wait for the peer. */
  maxPendingBytes: number;
  /** Cut the peer off when it has taken nothing for this long after the bound was reached. */
  maxStallMs: number;
  /** Called per dropped event. */
  onDropped?: (count: number) => void;
  /** Called once when the peer is cut off. */
  onCut?: () => void;
}

/**
 * An NDJSON event stream that never buffers more than `maxPendingBytes` for a slow peer. Past the bound, events
 * are dropped and counted; when the peer catches up (the sink drains) it gets one `{"event":"dropped","count":N}`
 * line and the stream carries on. A peer that takes nothing for `maxStallMs` is cut off (the sink destroyed):
 * a forgotten `fieldgate tail | less` must not hold the daemon's memory or a descriptor forever.
 *
 * Not thread-safe in any sense that matters: one instance per response, called from the event loop.
 */
export class BoundedStream {
  #dropped = 0;
  #stallTimer: NodeJS.Timeout | undefined;
  #isCut = false;
  readonly #onDrain = () => this.#resume();

  constructor(
    private readonly sink: StreamSink,
    private readonly options: BoundedStreamOptions,
  ) {}

  /** True while events are being dropped for this peer. */
  get isStalled(): boolean {
    return this.#stallTimer !== undefined;
  }

  /** Writes one event line, or drops it (false) when the peer is behind or was cut. */
  send(event: unknown): boolean {
    if (this.#isCut) return false;
    if (this.#stallTimer === undefined && this.sink.writableLength < this.options.maxPendingBytes) {
      this.sink.write(`${JSON.stringify(event)}\n`);
      return true;
    }
    if (this.#stallTimer === undefined) {
      // Past the bound the sink has refused a write, so it emits 'drain' once the peer has taken it all.
      this.sink.once('drain', this.#onDrain);
      this.#stallTimer = setTimeout(() => this.#cut(), this.options.maxStallMs);
    }
    this.#dropped++;
    this.options.onDropped?.(1);
    return false;
  }

  /** Stops the stall timer; call when the response closes. */
  close(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.sink.removeListener('drain', this.#onDrain);
  }

  #resume(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    if (this.#isCut) return;
    this.sink.write(`${JSON.stringify({ event: 'dropped', count: this.#dropped })}\n`);
    this.#dropped = 0;
  }

  #cut(): void {
    this.#stallTimer = undefined;
    this.#isCut = true;
    this.sink.removeListener('drain', this.#onDrain);
    this.sink.destroy();
    this.options.onCut?.();
  }
}
