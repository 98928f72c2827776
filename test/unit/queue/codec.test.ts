import { describe, expect, it } from 'vitest';
import { decodeReading, decodeSeq, encodeReading, encodeSeq, storedBytes } from '../../../src/queue/codec.js';

describe('codec', () => {
  it.each([0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER])(
    'round-trips sequence %d',
    (seq) => {
      expect(encodeSeq(seq)).toHaveLength(8);
      expect(decodeSeq(encodeSeq(seq))).toBe(seq);
    },
  );

  it('orders keys bytewise as the numbers they encode', () => {
    const seqs = [2 ** 40, 1, 256, 255, 2 ** 32, 0, 65_536];
    const byKey = [...seqs].sort((a, b) => Buffer.compare(encodeSeq(a), encodeSeq(b)));
    expect(byKey).toEqual([...seqs].sort((a, b) => a - b));
  });

  it.each([-1, 1.5, Number.NaN, 2 ** 53])('refuses %d as a sequence number', (seq) => {
    expect(() => encodeSeq(seq)).toThrow(RangeError);
  });

  it('refuses a key of the wrong width', () => {
    expect(() => decodeSeq(Buffer.alloc(4))).toThrow(RangeError);
  });

  it('round-trips a reading and counts key plus value bytes', () => {
    const reading = {
      device: 'sim:thermo-01',
      ts: 1_700_000_000_000,
      values: { temperature: 21.5, on: true, mode: null },
    };
    const value = encodeReading(reading);
    expect(decodeReading(value)).toEqual(reading);
    expect(storedBytes(value)).toBe(8 + value.length);
  });

  it.each(['{"device":1}', 'not json', '[]'])('refuses a stored value that is not a reading: %s', (text) => {
    expect(() => decodeReading(Buffer.from(text))).toThrow();
  });
});
