import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../../src/logger.js';
import type { Envelope, Reading } from '../../../src/model.js';
import { MemoryQueue } from '../../../src/queue/memory-queue.js';
import { Forwarder, type ForwarderOptions } from '../../../src/upstream/forwarder.js';
import type { SendResult } from '../../../src/upstream/upstream.js';
import { FakeUpstream } from '../../fakes/fake-upstream.js';
import { waitFor } from '../../fakes/wait-for.js';

const readings = (count: number): Reading[] =>
  Array.from({ length: count }, (_, i) => ({
    device: 'sim:thermo-01',
    ts: 1_700_000_000_000 + i,
    values: { n: i },
  }));

/** Log lines the forwarder wrote, as parsed objects, so tests can check what an operator would see. */
function capturingLogger(): { log: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}
const WARN = 40;
const INFO = 30;

/**
 * A cloud that holds every send until the test answers it, so tests can see how many overlap. Declares
 * `maxConcurrentSends` only when given one, like a connector written before overlapping sends existed.
 */
class GatedUpstream extends FakeUpstream {
  readonly maxConcurrentSends?: number;
  /** Sends awaiting an answer, in the order they started. */
  readonly pending: { gseqs: number[]; answer: (result: SendResult) => void }[] = [];
  peakInFlight = 0;

  constructor(maxConcurrentSends?: number) {
    super('ok');
    if (maxConcurrentSends !== undefined) this.maxConcurrentSends = maxConcurrentSends;
  }

  override send(batch: readonly Envelope[], signal: AbortSignal): Promise<SendResult> {
    const gseqs = batch.map((e) => e.gseq);
    this.sends.push(gseqs);
    return new Promise((resolve) => {
      const entry = {
        gseqs,
        answer: (result: SendResult): void => {
          const index = this.pending.indexOf(entry);
          if (index < 0) return;
          this.pending.splice(index, 1);
          if (result.kind === 'ok') this.delivered.push(...gseqs);
          resolve(result);
        },
      };
      this.pending.push(entry);
      this.peakInFlight = Math.max(this.peakInFlight, this.pending.length);
      signal.addEventListener('abort', () => entry.answer({ kind: 'retry', reason: 'aborted' }), {
        once: true,
      });
    });
  }

  /** Answer every pending send `ok`, newest first, until the queue is empty. */
  async acceptUntilEmpty(queue: MemoryQueue): Promise<void> {
    while (queue.stats().depth > 0) {
      await waitFor(() => this.pending.length > 0 || queue.stats().depth === 0, 'a send');
      for (const send of [...this.pending].reverse()) send.answer({ kind: 'ok' });
    }
  }
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const forwarders: Forwarder[] = [];
afterEach(async () => {
  await Promise.all(forwarders.splice(0).map((f) => f.stop(0)));
});

function startForwarder(
  queue: MemoryQueue,
  upstream: FakeUpstream,
  overrides: Partial<ForwarderOptions> = {},
): Forwarder {
  const forwarder = new Forwarder({
    route: 'test',
    queue,
    upstream,
    batch: { maxItems: 10, maxBytes: 1e6 },
    maxInFlight: 4,
    drain: 'fifo',
    liveShare: 0,
    // Tiny delays: the tests assert on calls and states, never on how long a wait took.
    backoff: { initialMs: 1, maxMs: 5 },
    log: silentLogger(),
    ...overrides,
  });
  forwarders.push(forwarder);
  forwarder.start();
  return forwarder;
}

const newQueue = (): MemoryQueue => new MemoryQueue({ maxBytes: 1e9, overflow: 'dropOldest', ttlMs: 0 });

describe('Forwarder', () => {
  it('delivers queued readings in FIFO batches and empties the queue', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('ok');
    await queue.append(readings(25));
    const forwarder = startForwarder(queue, upstream);

    await waitFor(() => queue.stats().depth === 0, 'the queue to drain');
    expect(upstream.delivered).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(upstream.sends.map((s) => s.length)).toEqual([10, 10, 5]);
    expect(forwarder.status()).toMatchObject({ sentReadings: 25, sentMessages: 3, failures: 0 });
    await waitFor(() => forwarder.status().state === 'idle', 'idle');
  });

  it('keeps data while the upstream is offline, warns once, and delivers when it is back', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('offline');
    const { log, lines } = capturingLogger();
    await queue.append(readings(12));
    const forwarder = startForwarder(queue, upstream, { log });

    await waitFor(() => upstream.connects >= 5, 'several connect attempts');
    const down = forwarder.status();
    expect(['connecting', 'backoff']).toContain(down.state);
    expect(down.offlineSince).toBeTypeOf('number');
    expect(down.failures).toBeGreaterThanOrEqual(4);
    expect(down.lastError).toMatch(/offline/);
    expect(upstream.delivered).toEqual([]);
    expect(queue.stats().depth).toBe(12);

    upstream.mode = 'ok';
    await waitFor(() => queue.stats().depth === 0, 'the backlog to drain');
    expect(upstream.delivered).toHaveLength(12);
    expect(forwarder.status().offlineSince).toBeUndefined();
    expect(lines.filter((l) => l.level === WARN)).toHaveLength(1);
    expect(lines.some((l) => /back/.test(l.msg))).toBe(true);
  });

  it('resends the same batch while throttled, without reconnecting, until the upstream accepts it', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('throttled');
    await queue.append(readings(5));
    const forwarder = startForwarder(queue, upstream);

    await waitFor(() => upstream.sends.length >= 3, 'repeated sends');
    expect(upstream.sends.slice(0, 3)).toEqual([
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
      [1, 2, 3, 4, 5],
    ]);
    expect(upstream.connects).toBe(1);
    expect(forwarder.status().lastError).toBe('throttled');

    upstream.mode = 'ok';
    await waitFor(() => queue.stats().depth === 0, 'delivery after throttling');
    expect(upstream.delivered).toEqual([1, 2, 3, 4, 5]);
  });

  it('reconnects after a send finds the upstream gone', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('ok');
    startForwarder(queue, upstream);
    await waitFor(() => upstream.connects === 1, 'first connect');

    upstream.mode = 'offline';
    await queue.append(readings(3));
    await waitFor(() => upstream.connects >= 3, 'reconnect attempts');
    upstream.mode = 'ok';
    await waitFor(() => queue.stats().depth === 0, 'delivery after reconnect');
    expect(upstream.delivered).toEqual([1, 2, 3]);
  });

  it('says once per transition, at INFO, that the upstream connected or disconnected and why', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('ok');
    const { log, lines } = capturingLogger();
    startForwarder(queue, upstream, { log });
    await waitFor(() => upstream.connects === 1, 'first connect');

    upstream.mode = 'offline';
    await queue.append(readings(3));
    await waitFor(() => upstream.connects >= 4, 'reconnect attempts');
    upstream.mode = 'ok';
    await waitFor(() => queue.stats().depth === 0, 'delivery after reconnect');
    const transitions = lines.filter((l) => /^Upstream (connected|disconnected)/.test(l.msg));
    expect(transitions).toMatchObject([
      { level: INFO, msg: 'Upstream connected.' },
      { level: INFO, msg: 'Upstream disconnected.', reason: 'offline' },
      { level: INFO, msg: 'Upstream connected.' },
    ]);
  });

  it('dead-letters batches the upstream refuses and keeps forwarding', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('rejecting');
    await queue.append(readings(15));
    const forwarder = startForwarder(queue, upstream);

    await waitFor(() => queue.stats().deadLetters === 15, 'all items dead-lettered');
    const letters = await queue.deadLetters();
    expect(letters.map((d) => d.reason)).toEqual(Array(15).fill('malformed'));
    expect(forwarder.status()).toMatchObject({ rejected: 15, sentReadings: 0 });
    expect(queue.stats().depth).toBe(0);
  });

  it('with liveFirst, gives the newest readings a share of the sends while a backlog drains', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('ok');
    await queue.append(readings(100));
    startForwarder(queue, upstream, { drain: 'liveFirst', liveShare: 0.25 });

    await waitFor(() => queue.stats().depth === 0, 'the backlog to drain');
    // Every 4th lease takes the newest items: live data does not wait for 100 old readings.
    expect(upstream.sends[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(upstream.sends[3]).toContain(100);
    expect([...upstream.delivered].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  it('with fifo, drains strictly oldest first', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('ok');
    await queue.append(readings(50));
    startForwarder(queue, upstream, { drain: 'fifo', liveShare: 0.25 });

    await waitFor(() => queue.stats().depth === 0, 'the backlog to drain');
    expect(upstream.delivered).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('stop() during a stalled send returns the batch to the queue and closes the upstream', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('stalled');
    let isStalled = false;
    upstream.onStall = () => (isStalled = true);
    await queue.append(readings(4));
    const forwarder = startForwarder(queue, upstream);
    await waitFor(() => isStalled, 'the send to stall');
    expect(queue.stats().inFlight).toBe(4);

    await forwarder.stop(10);
    expect(forwarder.status().state).toBe('closed');
    expect(upstream.closes).toBe(1);
    expect(queue.stats()).toMatchObject({ depth: 4, inFlight: 0 });

    // Nothing was lost: a new forwarder delivers every item.
    const next = new FakeUpstream('ok');
    startForwarder(queue, next);
    await waitFor(() => queue.stats().depth === 0, 'redelivery');
    expect(next.delivered).toEqual([1, 2, 3, 4]);
  });

  it('keeps up to maxInFlight leases in flight, taken in FIFO order, and delivers every reading', async () => {
    const queue = newQueue();
    const upstream = new GatedUpstream(Number.POSITIVE_INFINITY);
    await queue.append(readings(50));
    startForwarder(queue, upstream, { maxInFlight: 3 });

    await waitFor(() => upstream.pending.length === 3, 'three sends in flight');
    expect(upstream.sends).toEqual([range(1, 10), range(11, 20), range(21, 30)]);
    expect(queue.stats().inFlight).toBe(30);

    await upstream.acceptUntilEmpty(queue);
    expect(upstream.peakInFlight).toBe(3);
    expect(upstream.sends.flat()).toEqual(range(1, 50));
    expect([...upstream.delivered].sort((a, b) => a - b)).toEqual(range(1, 50));
  });

  it('never overlaps sends on an upstream that does not declare it can take them', async () => {
    const queue = newQueue();
    const upstream = new GatedUpstream();
    await queue.append(readings(30));
    startForwarder(queue, upstream, { maxInFlight: 4 });

    await upstream.acceptUntilEmpty(queue);
    expect(upstream.peakInFlight).toBe(1);
    expect(upstream.delivered).toEqual(range(1, 30));
  });

  it('after a failed send, leases nothing new until the others settle, then resends from the head', async () => {
    const queue = newQueue();
    const upstream = new GatedUpstream(Number.POSITIVE_INFINITY);
    await queue.append(readings(50));
    const forwarder = startForwarder(queue, upstream, { maxInFlight: 3 });
    await waitFor(() => upstream.pending.length === 3, 'three sends in flight');

    upstream.pending[1]!.answer({ kind: 'retry', reason: 'connection lost' });
    await waitFor(() => queue.stats().inFlight === 20, 'the failed lease to return');
    expect(upstream.sends).toHaveLength(3);
    upstream.pending[1]!.answer({ kind: 'ok' });
    upstream.pending[0]!.answer({ kind: 'ok' });

    // The returned items lead the next round, in their original order.
    await waitFor(() => upstream.sends.length === 6, 'the next round');
    expect(upstream.sends.slice(3)).toEqual([range(11, 20), range(31, 40), range(41, 50)]);
    expect(forwarder.status()).toMatchObject({ failures: 1, lastError: 'connection lost' });
    await upstream.acceptUntilEmpty(queue);
    expect(upstream.delivered.slice(0, 20)).toEqual([...range(21, 30), ...range(1, 10)]);
    expect([...upstream.delivered].sort((a, b) => a - b)).toEqual(range(1, 50));
  });

  it('stop() returns every lease still in flight after the grace period to the queue', async () => {
    const queue = newQueue();
    const upstream = new GatedUpstream(Number.POSITIVE_INFINITY);
    await queue.append(readings(30));
    const forwarder = startForwarder(queue, upstream, { maxInFlight: 3 });
    await waitFor(() => upstream.pending.length === 3, 'three sends in flight');

    await forwarder.stop(10);
    expect(queue.stats()).toMatchObject({ depth: 30, inFlight: 0 });
    expect(upstream.closes).toBe(1);

    const next = new FakeUpstream('ok');
    startForwarder(queue, next);
    await waitFor(() => queue.stats().depth === 0, 'redelivery');
    expect(next.delivered).toEqual(range(1, 30));
  });

  it('stop() lets the sends in flight finish within the grace period', async () => {
    const queue = newQueue();
    const upstream = new GatedUpstream(Number.POSITIVE_INFINITY);
    await queue.append(readings(30));
    const forwarder = startForwarder(queue, upstream, { maxInFlight: 3 });
    await waitFor(() => upstream.pending.length === 3, 'three sends in flight');

    const stopped = forwarder.stop(60_000);
    for (const send of [...upstream.pending]) send.answer({ kind: 'ok' });
    await stopped;
    expect(queue.stats()).toMatchObject({ depth: 0, inFlight: 0 });
    expect(upstream.sends).toHaveLength(3);
    expect(forwarder.status()).toMatchObject({ state: 'closed', sentReadings: 30 });
  });

  it('stop() while backing off ends promptly without another attempt', async () => {
    const queue = newQueue();
    const upstream = new FakeUpstream('offline');
    const forwarder = startForwarder(queue, upstream, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    await waitFor(() => forwarder.status().state === 'backoff', 'backoff');
    expect(forwarder.status().nextAttemptAt).toBeTypeOf('number');

    await forwarder.stop(0);
    expect(upstream.connects).toBe(1);
    expect(forwarder.status().state).toBe('closed');
  });
});
