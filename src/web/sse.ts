import type http from 'node:http';

/** An SSE client may fall this far behind before events are dropped for it. */
export const SSE_MAX_PENDING_BYTES = 256 * 1024;
/** A client that takes nothing for this long after falling behind is cut off. */
export const SSE_MAX_STALL_MS = 30_000;
/** A comment line this often keeps proxies and the browser from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/**
 * One browser's Server-Sent Events stream. Never buffers more than `SSE_MAX_PENDING_BYTES` for it: past
 * that, events are dropped (the page re-reads the full state on the next `status` tick, so a dropped
 * update heals itself), and a browser that takes nothing for `SSE_MAX_STALL_MS` is disconnected.
 */
export class SseClient {
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #keepalive: NodeJS.Timeout;
  #isClosed = false;
  dropped = 0;

  constructor(private readonly res: http.ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    this.#keepalive = setInterval(() => this.#write(': keepalive\n\n'), KEEPALIVE_MS);
    res.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Sends one named event with a JSON body; false when it was dropped. */
  send(event: string, data: unknown): boolean {
    return this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#keepalive);
    clearTimeout(this.#stallTimer);
    if (!this.res.writableEnded) this.res.end();
  }

  #write(text: string): boolean {
    if (this.#isClosed) return false;
    if (this.res.writableLength < SSE_MAX_PENDING_BYTES) {
      this.res.write(text);
      return true;
    }
    this.dropped++;
    if (this.#stallTimer === undefined) {
      // Past the bound a write was refused, so the response emits 'drain' once the browser took it all.
      this.#stallTimer = setTimeout(() => {
        this.res.destroy();
        this.close();
      }, SSE_MAX_STALL_MS);
      this.res.once('drain', () => {
        clearTimeout(this.#stallTimer);
        this.#stallTimer = undefined;
      });
    }
    return false;
  }
}
