import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PublishBudget, type ReleaseSlot } from '../../../../src/upstream/aws/publish-budget.js';

const live = (): AbortSignal => new AbortController().signal;

/** Grants within reach right now (microtasks only), without letting the clock move. */
async function grantsNow(budget: PublishBudget, count: number, answers = 0): Promise<ReleaseSlot[]> {
  const granted: ReleaseSlot[] = [];
  for (let i = 0; i < count; i++) void budget.take('bulk', live(), answers).then((r) => granted.push(r));
  await Promise.resolve();
  await Promise.resolve();
  return granted;
}

describe('PublishBudget: one budget for what we send and what IoT Core sends us', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps a fifth of the limit for inbound publishes by default', async () => {
    const budget = new PublishBudget({ limit: 100, windowMs: 1000, now: () => Date.now() });
    expect(await grantsNow(budget, 100)).toHaveLength(80);
    expect(budget.used).toBe(80);
  });

  it('counts each inbound publish for a window, so fewer of ours go out', async () => {
    const budget = new PublishBudget({ limit: 10, windowMs: 1000, reserve: 0, now: () => Date.now() });
    for (let i = 0; i < 4; i++) budget.noteInbound();
    const first = await grantsNow(budget, 10);
    expect(first).toHaveLength(6);
    for (const release of first) release();
    // The inbound four and our six stay counted for a window after they happened.
    vi.advanceTimersByTime(999);
    expect(budget.used).toBe(10);
    vi.advanceTimersByTime(1);
    await Promise.resolve();
    expect(budget.used).toBe(4);
  });

  it('holds a slot for the answer of a request that gets one, released with it', async () => {
    const budget = new PublishBudget({ limit: 10, windowMs: 1000, reserve: 2, now: () => Date.now() });
    // 8 usable slots: four requests with their answers fill them.
    const requests = await grantsNow(budget, 5, 1);
    expect(requests).toHaveLength(4);
    expect(budget.used).toBe(8);
    for (const release of requests) release();
    vi.advanceTimersByTime(1000);
    await Promise.resolve();
    await Promise.resolve();
    // A window after the releases the fifth request went out.
    expect(budget.used).toBe(2);
  });

  it('never lets the reserve swallow the whole limit', async () => {
    const budget = new PublishBudget({ limit: 1, windowMs: 1000, reserve: 5, now: () => Date.now() });
    expect(await grantsNow(budget, 1, 1)).toHaveLength(1);
  });
});
