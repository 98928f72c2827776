import { describe, expect, it } from 'vitest';
import { missing } from './subscriber.js';

describe('missing()', () => {
  it('lists the gaps in 1..max', () => {
    expect(missing(new Set([2, 3, 6]))).toEqual([1, 4, 5]);
    expect(missing(new Set())).toEqual([]);
  });

  it('handles a run of a million sequence numbers (spreading them into Math.max overflowed the stack)', () => {
    const seqs = new Set<number>();
    for (let s = 1; s <= 1_000_000; s++) if (s !== 777_777) seqs.add(s);
    expect(missing(seqs)).toEqual([777_777]);
  });
});
