import { describe, expect, it } from 'vitest';
import { decodeReading, encodeReading } from '../../../src/queue/codec.js';
import { decodeSegment, encodeSegment, itemBytes } from '../../../src/queue/segment-codec.js';
import { simReadings } from '../../contract/queue.contract.js';

describe('segment codec', () => {
  const readings = simReadings(3);
  // Seqs with a hole, as a segment migrated from one record per reading can have.
  const items = [7, 8, 12].map((seq, index) => ({ seq, value: encodeReading(readings[index]!) }));

  it('round-trips items with their seqs, holes included', () => {
    const decoded = decodeSegment(7, encodeSegment(7, items));
    expect(decoded.map((item) => item.seq)).toEqual([7, 8, 12]);
    expect(decoded.map((item) => decodeReading(item.value))).toEqual(readings);
  });

  it("writes an append's JSON strings as it writes stored bytes, non-ASCII included", () => {
    const withUnits = { ...readings[0]!, units: { temperature: '°C' } };
    const asBytes = [{ seq: 7, value: encodeReading(withUnits) }, ...items.slice(1)];
    const asStrings = asBytes.map(({ seq, value }) => {
      const json = value.toString('utf8');
      return { seq, json, byteLength: Buffer.byteLength(json) };
    });
    expect(encodeSegment(7, asStrings)).toEqual(encodeSegment(7, asBytes));
    expect(decodeReading(decodeSegment(7, encodeSegment(7, asStrings))[0]!.value)).toEqual(withUnits);
  });

  it('accounts each item as a record of its own (key plus encoded reading)', () => {
    expect(itemBytes(items[0]!)).toBe(8 + items[0]!.value.length);
  });

  it.each([
    ['an unknown format byte', (bytes: Buffer) => Buffer.concat([Buffer.from([9]), bytes.subarray(1)])],
    ['a value cut short', (bytes: Buffer) => bytes.subarray(0, bytes.length - 3)],
    ['a header cut short', (bytes: Buffer) => bytes.subarray(0, 5)],
  ])('refuses %s', (_, damage) => {
    expect(() => decodeSegment(7, damage(encodeSegment(7, items)))).toThrow(RangeError);
  });
});
