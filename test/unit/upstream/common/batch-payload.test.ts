import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/model.js';
import { encodeReading } from '../../../../src/queue/codec.js';
import {
  decodeBatch,
  encodeBatch,
  estimateBytes,
  splitBatch,
} from '../../../../src/upstream/common/batch-payload.js';

const envelope = (gseq: number, extra: Partial<Envelope['reading']> = {}): Envelope => ({
  gseq,
  reading: {
    device: 'sim:thermo-01',
    ts: 1_700_000_000_000 + gseq,
    values: { temperature: 21.5, ok: true },
    ...extra,
  },
});

describe('encodeBatch / decodeBatch', () => {
  it('round-trips readings with their gateway sequence numbers', () => {
    const batch = [envelope(1, { units: { temperature: '°C' }, seq: 7 }), envelope(2)];
    const decoded = decodeBatch(encodeBatch('gw-1', batch, { gzip: false }));
    expect(decoded).toEqual({
      gateway: 'gw-1',
      readings: [
        {
          gseq: 1,
          device: 'sim:thermo-01',
          ts: 1_700_000_000_001,
          values: { temperature: 21.5, ok: true },
          units: { temperature: '°C' },
          seq: 7,
        },
        { gseq: 2, device: 'sim:thermo-01', ts: 1_700_000_000_002, values: { temperature: 21.5, ok: true } },
      ],
    });
  });

  it('copies the stored bytes of a reading, giving what encoding the reading itself gives', () => {
    const batch = [envelope(1, { units: { temperature: '°C' }, seq: 7 }), envelope(22), envelope(333)];
    const stored = batch.map((e) => ({ ...e, encoded: encodeReading(e.reading) }));
    const payload = encodeBatch('gw-"1"', stored, { gzip: false });
    const expected = {
      gateway: 'gw-"1"',
      readings: batch.map(({ gseq, reading }) => ({ gseq, ...reading })),
    };
    expect(payload.toString()).toBe(JSON.stringify(expected));
    expect(encodeBatch('gw-"1"', batch, { gzip: false })).toEqual(payload);
    expect(stored.map(estimateBytes)).toEqual(batch.map(estimateBytes));
  });

  it('sends the stored bytes, not the decoded reading, when an envelope carries both', () => {
    const stored = { ...envelope(5), encoded: Buffer.from('{"device":"sim:other","ts":1,"values":{}}') };
    expect(decodeBatch(encodeBatch('gw-1', [stored], { gzip: false })).readings).toEqual([
      { gseq: 5, device: 'sim:other', ts: 1, values: {} },
    ]);
  });

  it('gzips when asked, and decodes gzip by its magic bytes', () => {
    const batch = Array.from({ length: 50 }, (_, i) => envelope(i + 1));
    const plain = encodeBatch('gw-1', batch, { gzip: false });
    const gzipped = encodeBatch('gw-1', batch, { gzip: true });
    expect([gzipped[0], gzipped[1]]).toEqual([0x1f, 0x8b]);
    expect(gzipped.length).toBeLessThan(plain.length);
    expect(decodeBatch(gzipped)).toEqual(decodeBatch(plain));
  });

  it('refuses a payload that is not a batch', () => {
    expect(() => decodeBatch(Buffer.from('{"hello":1}'))).toThrow(/not a fieldgate batch/);
    expect(() => decodeBatch(Buffer.from('nope'))).toThrow(/not a fieldgate batch/);
  });

  it('estimates exactly what each reading adds to an uncompressed payload', () => {
    const one = encodeBatch('gw', [envelope(1)], { gzip: false }).length;
    const two = encodeBatch('gw', [envelope(1), envelope(2)], { gzip: false }).length;
    expect(estimateBytes(envelope(2))).toBe(two - one);
  });
});

describe('splitBatch', () => {
  it('cuts a batch into in-order messages that each fit the limit', () => {
    const batch = Array.from({ length: 40 }, (_, i) => envelope(i + 1));
    const { messages, oversized } = splitBatch('gw', batch, 1000, { gzip: false });
    expect(oversized).toEqual([]);
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m.payload.length).toBeLessThanOrEqual(1000);
    expect(messages.flatMap((m) => decodeBatch(m.payload).readings.map((r) => r.gseq))).toEqual(
      batch.map((e) => e.gseq),
    );
  });

  it('sets aside a reading that alone exceeds the limit and sends the rest', () => {
    const huge = envelope(2, { values: { blob: 'x'.repeat(5000) } });
    const { messages, oversized } = splitBatch('gw', [envelope(1), huge, envelope(3)], 1000, { gzip: false });
    expect(oversized.map((e) => e.gseq)).toEqual([2]);
    expect(messages.flatMap((m) => m.items.map((e) => e.gseq))).toEqual([1, 3]);
  });

  it('keeps gzipped messages within the limit too', () => {
    const batch = Array.from({ length: 200 }, (_, i) => envelope(i + 1, { values: { r: Math.random() } }));
    const { messages } = splitBatch('gw', batch, 2000, { gzip: true });
    for (const m of messages) expect(m.payload.length).toBeLessThanOrEqual(2000);
    expect(messages.flatMap((m) => m.items)).toHaveLength(200);
  });
});
