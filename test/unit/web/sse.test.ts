import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SSE_MAX_PENDING_BYTES, SSE_MAX_STALL_MS, SseClient } from '../../../src/web/sse.js';

type Response = ConstructorParameters<typeof SseClient>[0];

/** A response whose peer takes nothing: what is written stays pending until `drain()`. */
class StuckResponse extends EventEmitter {
  writableLength = 0;
  writableEnded = false;
  isDestroyed = false;
  written: string[] = [];
  writeHead() {
    return this;
  }
  flushHeaders() {}
  write(text: string) {
    this.written.push(text);
    this.writableLength += Buffer.byteLength(text);
    return this.writableLength < SSE_MAX_PENDING_BYTES;
  }
  drain() {
    this.writableLength = 0;
    this.emit('drain');
  }
  end() {
    this.writableEnded = true;
  }
  destroy() {
    this.isDestroyed = true;
    this.emit('close');
  }
}

describe('SseClient', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes named events, drops them past the bound, and recovers when the browser catches up', () => {
    const res = new StuckResponse();
    const client = new SseClient(res as unknown as Response);
    expect(client.send('status', { a: 1 })).toBe(true);
    expect(res.written[0]).toBe('event: status\ndata: {"a":1}\n\n');
    const big = 'x'.repeat(64 * 1024);
    let sent = 0;
    while (client.send('log', big)) sent++;
    expect(sent).toBeLessThanOrEqual(SSE_MAX_PENDING_BYTES / big.length + 1);
    expect(client.send('log', big)).toBe(false);
    expect(client.dropped).toBe(2);
    res.drain();
    vi.advanceTimersByTime(SSE_MAX_STALL_MS);
    expect(res.isDestroyed).toBe(false);
    expect(client.send('status', { a: 2 })).toBe(true);
    client.close();
  });

  it('cuts off a browser that takes nothing for too long', () => {
    const res = new StuckResponse();
    const client = new SseClient(res as unknown as Response);
    const big = 'x'.repeat(64 * 1024);
    while (client.send('log', big));
    vi.advanceTimersByTime(SSE_MAX_STALL_MS + 1);
    expect(res.isDestroyed).toBe(true);
    expect(client.isClosed).toBe(true);
    expect(client.send('status', {})).toBe(false);
  });
});
