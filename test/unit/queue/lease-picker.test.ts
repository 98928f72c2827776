import { describe, expect, it } from 'vitest';
import { LeasePicker } from '../../../src/queue/lease-picker.js';

const reading = (ts: number) => ({ device: 'sim:a', ts, values: { temperature: 20 } });

describe('LeasePicker', () => {
  it('takes items until maxItems, then reports full', () => {
    const picker = new LeasePicker({ maxItems: 2, maxBytes: 1000, ttlMs: 0, now: 0 });
    expect([1, 2, 3].map((gseq) => picker.offer(gseq, reading(0), 10))).toEqual(['taken', 'taken', 'full']);
    expect(picker.items.map((item) => item.gseq)).toEqual([1, 2]);
    expect(picker.bytes).toBe(20);
  });

  it('stops before maxBytes would be exceeded', () => {
    const picker = new LeasePicker({ maxItems: 10, maxBytes: 25, ttlMs: 0, now: 0 });
    expect([1, 2, 3].map((gseq) => picker.offer(gseq, reading(0), 10))).toEqual(['taken', 'taken', 'full']);
  });

  it('always takes a first item, however large', () => {
    const picker = new LeasePicker({ maxItems: 10, maxBytes: 5, ttlMs: 0, now: 0 });
    expect(picker.offer(1, reading(0), 500)).toBe('taken');
    expect(picker.offer(2, reading(0), 1)).toBe('full');
  });

  it('reports items older than the TTL as expired, and keeps them out of the lease', () => {
    const picker = new LeasePicker({ maxItems: 10, maxBytes: 1000, ttlMs: 100, now: 1000 });
    expect(picker.offer(1, reading(899), 10)).toBe('expired');
    expect(picker.offer(2, reading(900), 10)).toBe('taken');
    expect(picker.items.map((item) => item.gseq)).toEqual([2]);
  });
});
