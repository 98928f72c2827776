import { describe, expect, it } from 'vitest';
import { DuplicateFilter } from '../../../../adapters/ble/dedup.js';

describe('DuplicateFilter', () => {
  it('drops a repeated packet counter however late it comes, and keeps a new one', () => {
    const filter = new DuplicateFilter(1000);
    expect(filter.isDuplicate('d', { counter: 7, payloadHex: 'aa' }, 0)).toBe(false);
    expect(filter.isDuplicate('d', { counter: 7, payloadHex: 'aa' }, 60_000)).toBe(true);
    expect(filter.isDuplicate('d', { counter: 8, payloadHex: 'aa' }, 60_001)).toBe(false);
  });

  it('without a counter, drops the same payload only within the window', () => {
    const filter = new DuplicateFilter(1000);
    expect(filter.isDuplicate('d', { payloadHex: 'aa' }, 0)).toBe(false);
    expect(filter.isDuplicate('d', { payloadHex: 'aa' }, 999)).toBe(true);
    expect(filter.isDuplicate('d', { payloadHex: 'aa' }, 2000)).toBe(false);
    expect(filter.isDuplicate('d', { payloadHex: 'bb' }, 2001)).toBe(false);
  });

  it('keeps devices apart', () => {
    const filter = new DuplicateFilter(1000);
    expect(filter.isDuplicate('a', { counter: 1, payloadHex: '' }, 0)).toBe(false);
    expect(filter.isDuplicate('b', { counter: 1, payloadHex: '' }, 0)).toBe(false);
  });
});
