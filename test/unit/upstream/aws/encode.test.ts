import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../../../src/model.js';
import { AWS_BILLING_UNIT_BYTES, billedUnits } from '../../../../src/upstream/aws/protocol/billing.js';
import { planTelemetry } from '../../../../src/upstream/aws/encode.js';
import { TopicTemplate } from '../../../../src/upstream/aws/protocol/topics.js';
import { decodeBatch } from '../../../../src/upstream/common/batch-payload.js';

const known = ['gateway', 'route', 'device'];
const envelope = (
  gseq: number,
  device: string,
  values: Envelope['reading']['values'] = { t: 21.5 },
): Envelope => ({
  gseq,
  reading: { device, ts: 1_700_000_000_000 + gseq, values },
});
const plan = (
  batch: Envelope[],
  template = 'dt/fieldgate/{gateway}/{device}',
  maxMessageBytes = 128 * 1024,
) =>
  planTelemetry(batch, {
    gatewayId: 'gw',
    route: 'aws',
    telemetry: new TopicTemplate(template, known),
    maxMessageBytes,
  });

describe('billedUnits', () => {
  it.each([
    [0, 1],
    [AWS_BILLING_UNIT_BYTES - 8, 1],
    [AWS_BILLING_UNIT_BYTES - 7, 2],
    [128 * 1024, 26],
  ])('a %i-byte payload on an 8-byte topic costs %i units', (bytes, units) => {
    expect(billedUnits('dt/a/b/c', bytes)).toBe(units);
  });

  it('charges nothing for Basic Ingest', () => {
    expect(billedUnits('$aws/rules/ingest/x', 50_000)).toBe(0);
  });
});

describe('planTelemetry', () => {
  it('publishes each device on its own topic, in order within the device', () => {
    const { messages, refused } = plan([envelope(1, 'sim:a'), envelope(2, 'sim:b'), envelope(3, 'sim:a')]);
    expect(refused).toEqual([]);
    expect(messages.map((m) => [m.topic, m.items.map((i) => i.gseq)])).toEqual([
      ['dt/fieldgate/gw/sim:a', [1, 3]],
      ['dt/fieldgate/gw/sim:b', [2]],
    ]);
    expect(decodeBatch(messages[0]!.payload).readings.map((r) => r.gseq)).toEqual([1, 3]);
  });

  it('packs a device backlog into few messages, none over the limit, and prices them', () => {
    const batch = Array.from({ length: 2000 }, (_, i) => envelope(i + 1, 'sim:a'));
    const { messages } = plan(batch, undefined, 16 * 1024);
    expect(messages.every((m) => m.payload.length <= 16 * 1024)).toBe(true);
    expect(messages.flatMap((m) => m.items.map((i) => i.gseq))).toEqual(batch.map((e) => e.gseq));
    const units = messages.reduce((sum, m) => sum + m.billedUnits, 0);
    // One message per reading would cost 2000 units; packed, the units are nearly full.
    const bytes = messages.reduce((sum, m) => sum + m.payload.length + m.topic.length, 0);
    expect(units).toBeLessThanOrEqual(Math.ceil(bytes / AWS_BILLING_UNIT_BYTES) + messages.length);
    expect(units).toBeLessThan(200);
  });

  it('refuses readings too large alone, or whose topic breaks the limits, and keeps the rest', () => {
    const huge = envelope(2, 'sim:a', { blob: 'x'.repeat(5000) });
    const deep = envelope(3, 'a/b/c/d/e/f');
    const { messages, refused } = plan([envelope(1, 'sim:a'), huge, deep], undefined, 4096);
    expect(messages.flatMap((m) => m.items.map((i) => i.gseq))).toEqual([1]);
    expect(refused.map((r) => r.gseq)).toEqual([3, 2]);
    expect(refused[0]!.reason).toMatch(/slashes/);
  });

  it('merges every device into one topic when the template has no {device}', () => {
    const { messages } = plan([envelope(1, 'sim:a'), envelope(2, 'sim:b')], '$aws/rules/ingest/{gateway}');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.billedUnits).toBe(0);
  });
});

describe('planTelemetry with json+gzip', () => {
  const gzipPlan = (batch: Envelope[], maxMessageBytes = 128 * 1024, encoding = 'json+gzip' as const) =>
    planTelemetry(batch, {
      gatewayId: 'gw',
      route: 'aws',
      telemetry: new TopicTemplate('dt/{gateway}/{device}/{encoding}', [...known, 'encoding']),
      maxMessageBytes,
      encoding,
    });

  it('gzips payloads, names the encoding in the topic and states the content type', () => {
    const batch = Array.from({ length: 200 }, (_, i) => envelope(i, 'a', { t: i / 10, h: 40 }));
    const [message, ...rest] = gzipPlan(batch).messages;
    expect(rest).toEqual([]);
    expect(message).toMatchObject({ topic: 'dt/gw/a/gzip', contentType: 'application/gzip' });
    expect([message!.payload[0], message!.payload[1]]).toEqual([0x1f, 0x8b]);
    expect(decodeBatch(message!.payload).readings.map((r) => r.gseq)).toEqual(batch.map((e) => e.gseq));
  });

  it('states no content type for plain JSON, whose topic says json', () => {
    const [message] = planTelemetry([envelope(1, 'a')], {
      gatewayId: 'gw',
      route: 'aws',
      telemetry: new TopicTemplate('dt/{gateway}/{device}/{encoding}', [...known, 'encoding']),
      maxMessageBytes: 1024,
    }).messages;
    expect(message!.topic).toBe('dt/gw/a/json');
    expect(message!.contentType).toBeUndefined();
  });

  it('keeps every compressed payload within maxMessageBytes while packing more readings', () => {
    const batch = Array.from({ length: 3000 }, (_, i) => envelope(i, 'a', { t: i / 10, h: 40 }));
    const gzip = gzipPlan(batch, 4096).messages;
    expect(gzip.length).toBeLessThan(plan(batch, 'dt/{gateway}/{device}', 4096).messages.length / 2);
    for (const message of gzip) expect(message.payload.length).toBeLessThanOrEqual(4096);
    expect(gzip.flatMap((m) => m.items.map((e) => e.gseq))).toEqual(batch.map((e) => e.gseq));
  });
});
