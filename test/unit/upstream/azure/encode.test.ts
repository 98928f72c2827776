import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/model.js';
import { d2cPropertyBag, encodeD2cBatch } from '../../../../src/upstream/azure/encode.js';
import { billedUnits } from '../../../../src/upstream/azure/protocol/limits.js';
import { formatPropertyBag, parsePropertyBag } from '../../../../src/upstream/azure/protocol/property-bag.js';
import { decodeBatch } from '../../../../src/upstream/common/batch-payload.js';

const envelope = (gseq: number, device = 'sim:thermo-01'): Envelope => ({
  gseq,
  reading: { device, ts: 1_700_000_000_000 + gseq, values: { temperature: 21.5, humidity: 40 } },
});
const options = { gatewayId: 'gw', route: 'cloud', maxMessageBytes: 256 * 1024, now: 1_700_000_000_000 };

describe('D2C encoding', () => {
  it('packs a batch into one message with its message id, content type and leaf', () => {
    const { messages, oversized } = encodeD2cBatch([envelope(7), envelope(8)], options);
    expect(oversized).toEqual([]);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(JSON.parse(message!.body.toString())).toMatchObject({
      gateway: 'gw',
      readings: [{ gseq: 7 }, { gseq: 8 }],
    });
    expect(message!.properties).toMatchObject({
      '$.mid': 'gw-cloud-7',
      '$.ct': 'application/json',
      '$.ce': 'utf-8',
      'fieldgate-device': 'sim:thermo-01',
      'fieldgate-count': '2',
    });
    expect(d2cPropertyBag(message!)).toContain('%24.ct=application%2Fjson');
  });

  it('names no single leaf when a message mixes devices', () => {
    const [message] = encodeD2cBatch([envelope(1), envelope(2, 'sim:switch-01')], options).messages;
    expect(message!.properties['fieldgate-device']).toBeUndefined();
  });

  it('never exceeds the message limit, properties included, and refuses what cannot fit', () => {
    const huge: Envelope = {
      gseq: 99,
      reading: { device: 'sim:x', ts: 1, values: { blob: 'x'.repeat(300 * 1024) } },
    };
    const batch = [...Array.from({ length: 400 }, (_, i) => envelope(i)), huge];
    const { messages, oversized } = encodeD2cBatch(batch, { ...options, maxMessageBytes: 8192 });
    expect(oversized.map((e) => e.gseq)).toEqual([99]);
    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) expect(message.sizeBytes).toBeLessThanOrEqual(8192);
    expect(messages.flatMap((m) => m.items.map((e) => e.gseq))).toEqual(
      Array.from({ length: 400 }, (_, i) => i),
    );
  });

  it('bills a batch of 300 readings far fewer 4 KB units than 300 single messages', () => {
    const batch = Array.from({ length: 300 }, (_, i) => envelope(i));
    const batched = encodeD2cBatch(batch, options).messages.reduce((n, m) => n + m.billedUnits, 0);
    const single = batch.reduce((n, e) => n + encodeD2cBatch([e], options).messages[0]!.billedUnits, 0);
    expect(single).toBe(300);
    expect(batched).toBeLessThanOrEqual(Math.ceil(single / 10));
  });

  it('rounds billing up to whole 4 KB units, with a minimum of one', () => {
    expect([billedUnits(0), billedUnits(4096), billedUnits(4097)]).toEqual([1, 1, 2]);
  });
});

describe('property bags', () => {
  it('matches the Node SDK encoding of the reference example', () => {
    expect(formatPropertyBag({ 'a b': 'c&d=e/f', $x: 'ü' })).toBe('a%20b=c%26d%3De%2Ff&%24x=%C3%BC');
  });

  it('decodes escaped and literal $, empty and null values', () => {
    expect(parsePropertyBag('%24.mid=abc&$.to=%2Fdevices%2Fd&cmd=reboot&empty=&flag')).toEqual({
      '$.mid': 'abc',
      '$.to': '/devices/d',
      cmd: 'reboot',
      empty: '',
      flag: null,
    });
  });
});

describe('D2C encoding with json+gzip', () => {
  const gzipOptions = { ...options, encoding: 'json+gzip' as const };

  it('gzips the body, says so in $.ce, and bills the compressed size', () => {
    const batch = Array.from({ length: 300 }, (_, i) => envelope(i));
    const [message, ...rest] = encodeD2cBatch(batch, gzipOptions).messages;
    expect(rest).toEqual([]);
    expect(message!.properties).toMatchObject({ '$.ct': 'application/json', '$.ce': 'gzip' });
    expect(decodeBatch(message!.body).readings.map((r) => r.gseq)).toEqual(batch.map((e) => e.gseq));
    expect(message!.sizeBytes).toBeLessThan(encodeD2cBatch(batch, options).messages[0]!.sizeBytes / 4);
    expect(message!.billedUnits).toBe(billedUnits(message!.sizeBytes));
  });

  it('fills a message past its limit in uncompressed JSON, but never past the limit compressed', () => {
    const batch = Array.from({ length: 2000 }, (_, i) => envelope(i));
    const json = encodeD2cBatch(batch, { ...options, maxMessageBytes: 8192 }).messages;
    const gzip = encodeD2cBatch(batch, { ...gzipOptions, maxMessageBytes: 8192 }).messages;
    expect(gzip.length).toBeLessThan(json.length / 2);
    for (const message of gzip) expect(message.sizeBytes).toBeLessThanOrEqual(8192);
    expect(gzip.flatMap((m) => m.items.map((e) => e.gseq))).toEqual(batch.map((e) => e.gseq));
  });

  it('keeps a sane cap: no message holds more than 4× the limit uncompressed', () => {
    const batch = Array.from({ length: 2000 }, (_, i) => envelope(i));
    for (const message of encodeD2cBatch(batch, { ...gzipOptions, maxMessageBytes: 8192 }).messages) {
      expect(gunzipSync(message.body).length).toBeLessThanOrEqual(4 * 8192);
    }
  });
});
