import { describe, expect, it } from 'vitest';
import { SegmentIndex } from '../../../src/queue/segment-index.js';

describe('SegmentIndex', () => {
  function index(): SegmentIndex {
    const segments = new SegmentIndex();
    segments.add(1, 10); // items 1..10
    segments.add(11, 5); // items 11..15
    return segments;
  }

  it('finds the segment that may hold a seq, and lists segments from there in either order', () => {
    const segments = index();
    expect(segments.floor(0)).toBeUndefined();
    expect(segments.floor(10)).toBe(1);
    expect(segments.floor(11)).toBe(11);
    expect([...segments.after(10, false)].map((e) => e.firstSeq)).toEqual([1, 11]);
    expect([...segments.after(11, false)].map((e) => e.firstSeq)).toEqual([11]);
    expect([...segments.after(0, true)].map((e) => e.firstSeq)).toEqual([11, 1]);
  });

  it('marks removals above the cursor, and drops a mark the cursor covers', () => {
    const segments = index();
    const above = segments.planRemoval([5, 6], 0);
    expect(above.changes).toEqual([{ kind: 'putMark', firstSeq: 1, deltas: [4, 5] }]);
    above.apply();

    const covered = segments.planRemoval([1, 2, 3, 4], 6);
    expect(covered.changes).toEqual([{ kind: 'deleteMark', firstSeq: 1 }]);
    covered.apply();
    expect(segments.first?.removed.size).toBe(6);
  });

  it('deletes a segment, with its mark, once all of its items are removed', () => {
    const segments = index();
    segments.planRemoval([12], 0).apply();
    const all = segments.planRemoval([11, 13, 14, 15], 0);
    expect(all.changes).toEqual([{ kind: 'deleteSegment', firstSeq: 11, hasMark: true }]);
    expect(all.deleted).toEqual([11]);
    expect(segments.get(11)).toBeDefined();
    all.apply();
    expect(segments.get(11)).toBeUndefined();
    expect([...segments.after(0, false)].map((e) => e.firstSeq)).toEqual([1]);
  });
});
