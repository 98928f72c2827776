import { describe, expect, it } from 'vitest';
import { IngestPacer } from '../../../src/queue/ingest-pacer.js';

const LONG_MS = 60_000;

/** Settles within a few event-loop turns, or reports that it is still pending. */
async function isPendingAfterTicks(promise: Promise<void>): Promise<boolean> {
  let isDone = false;
  void promise.then(() => (isDone = true));
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  return !isDone;
}

describe('IngestPacer', () => {
  const never = new AbortController().signal;

  it('never holds an append while no consumer is leasing (an outage fills the queue as before)', async () => {
    const pacer = new IngestPacer({ backlogItems: 10, maxWaitMs: LONG_MS, activeWindowMs: LONG_MS });
    expect(await isPendingAfterTicks(pacer.pace(1_000_000, never))).toBe(false);
  });

  it('holds an append while a consumer leases and the backlog is high, until the backlog falls', async () => {
    const pacer = new IngestPacer({ backlogItems: 10, maxWaitMs: LONG_MS, activeWindowMs: LONG_MS });
    pacer.noteLease();
    expect(await isPendingAfterTicks(pacer.pace(5, never))).toBe(false);

    const held = pacer.pace(11, never);
    expect(await isPendingAfterTicks(held)).toBe(true);
    pacer.noteBacklog(11);
    expect(await isPendingAfterTicks(held)).toBe(true);
    pacer.noteBacklog(10);
    expect(await isPendingAfterTicks(held)).toBe(false);
  });

  it('holds an append for maxWaitMs at most, and not past an abort', async () => {
    const pacer = new IngestPacer({ backlogItems: 10, maxWaitMs: 20, activeWindowMs: LONG_MS });
    pacer.noteLease();
    await pacer.pace(1000, never);

    const patient = new IngestPacer({ backlogItems: 10, maxWaitMs: LONG_MS, activeWindowMs: LONG_MS });
    patient.noteLease();
    const closing = new AbortController();
    const held = patient.pace(1000, closing.signal);
    expect(await isPendingAfterTicks(held)).toBe(true);
    closing.abort();
    await held;
  });
});
