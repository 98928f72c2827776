import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { BoundedStream, type StreamSink } from '../../../src/control/bounded-stream.js';

/** A peer that takes nothing until `drain()`: everything written waits in `pending`. */
class PausedPeer implements StreamSink {
  pending: string[] = [];
  received: string[] = [];
  isDestroyed = false;
  #drainListeners: (() => void)[] = [];

  get writableLength(): number {
    return this.pending.reduce((n, line) => n + line.length, 0);
  }
  write(chunk: string): boolean {
    this.pending.push(chunk);
    return this.writableLength < 16;
  }
  once(_event: 'drain', listener: () => void): this {
    this.#drainListeners.push(listener);
    return this;
  }
  removeListener(_event: 'drain', listener: () => void): this {
    this.#drainListeners = this.#drainListeners.filter((l) => l !== listener);
    return this;
  }
  destroy(): void {
    this.isDestroyed = true;
  }
  /** The peer reads everything. */
  drain(): void {
    this.received.push(...this.pending);
    this.pending = [];
    const listeners = this.#drainListeners;
    this.#drainListeners = [];
    for (const l of listeners) l();
  }
  events(): unknown[] {
    return this.received.map((line) => JSON.parse(line) as unknown);
  }
}

const MAX_PENDING = 100;
const STALL_MS = 30_000;
const EVENT = { device: 'sim:climate-01', n: 0 };
const LINE_BYTES = JSON.stringify(EVENT).length + 1;

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function open(peer: PausedPeer) {
  const counts = { dropped: 0, cut: 0 };
  const stream = new BoundedStream(peer, {
    maxPendingBytes: MAX_PENDING,
    maxStallMs: STALL_MS,
    onDropped: (n) => (counts.dropped += n),
    onCut: () => counts.cut++,
  });
  return { stream, counts };
}

it('holds at most the bound for a paused peer, however many events come', () => {
  const peer = new PausedPeer();
  const { stream, counts } = open(peer);
  for (let i = 0; i < 10_000; i++) stream.send(EVENT);
  expect(peer.writableLength).toBeLessThan(MAX_PENDING + LINE_BYTES);
  expect(counts.dropped).toBe(10_000 - peer.pending.length);
});

it('tells the peer how many events it missed once it catches up, then carries on', () => {
  const peer = new PausedPeer();
  const { stream, counts } = open(peer);
  for (let i = 0; i < 50; i++) stream.send({ ...EVENT, n: i });
  const written = peer.pending.length;
  peer.drain();
  stream.send({ ...EVENT, n: 50 });
  peer.drain();
  expect(peer.events()).toEqual([
    ...Array.from({ length: written }, (_, n) => ({ ...EVENT, n })),
    { event: 'dropped', count: 50 - written },
    { ...EVENT, n: 50 },
  ]);
  expect(counts).toEqual({ dropped: 50 - written, cut: 0 });
});

it('cuts a peer that takes nothing for the stall limit, once, and sends it nothing more', () => {
  const peer = new PausedPeer();
  const { stream, counts } = open(peer);
  for (let i = 0; i < 50; i++) stream.send(EVENT);
  vi.advanceTimersByTime(STALL_MS - 1);
  expect(peer.isDestroyed).toBe(false);
  vi.advanceTimersByTime(1);
  expect(peer.isDestroyed).toBe(true);
  expect(stream.send(EVENT)).toBe(false);
  vi.advanceTimersByTime(STALL_MS * 2);
  expect(counts.cut).toBe(1);
});

it('does not cut a peer that caught up before the stall limit', () => {
  const peer = new PausedPeer();
  const { stream, counts } = open(peer);
  for (let i = 0; i < 50; i++) stream.send(EVENT);
  vi.advanceTimersByTime(STALL_MS - 1);
  peer.drain();
  vi.advanceTimersByTime(STALL_MS * 2);
  expect(peer.isDestroyed).toBe(false);
  expect(counts.cut).toBe(0);
});

it('stops its timer when closed, so a closed stream is never counted as cut', () => {
  const peer = new PausedPeer();
  const { stream, counts } = open(peer);
  for (let i = 0; i < 50; i++) stream.send(EVENT);
  stream.close();
  vi.advanceTimersByTime(STALL_MS * 2);
  expect(counts.cut).toBe(0);
});
