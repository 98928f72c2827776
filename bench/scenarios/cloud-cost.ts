import { buildFleet } from '../../adapters/sim/fleet.js';
import type { Envelope } from '../../src/model.js';
import { AWS_MAX_PAYLOAD_BYTES } from '../../src/config/upstreams/aws.js';
import { planTelemetry } from '../../src/upstream/aws/encode.js';
import { TopicTemplate } from '../../src/upstream/aws/protocol/topics.js';
import { encodeD2cBatch } from '../../src/upstream/azure/encode.js';
import { MAX_D2C_BYTES } from '../../src/upstream/azure/protocol/limits.js';
import { estimateBytes } from '../../src/upstream/common/batch-payload.js';
import type { Sample } from '../support/figures.js';

const READINGS = 10_000;
const DEVICES = 1000;
const GATEWAY = 'gw-0001';
/** The route's default batching (`routes.<name>.batch`). */
const BATCH_MAX_ITEMS = 500;
const BATCH_MAX_BYTES = 64 * 1024;
type Encoding = 'json' | 'json+gzip';

function simEnvelopes(): Envelope[] {
  const { reporters } = buildFleet(
    'sim',
    {
      fleet: { climate: DEVICES, switch: 0, contact: 0, sleepy: 0 },
      reportIntervalMs: 0,
      jitterMs: 0,
      wakeIntervalMs: 0,
      awakeMs: 0,
      batchSize: 1,
    },
    1,
  );
  const start = Date.now();
  return Array.from({ length: READINGS }, (_, i) => {
    const device = reporters[i % reporters.length]!;
    return { gseq: i + 1, reading: device.reading(start + i, device.sample() ?? {}) };
  });
}

/** Cuts the stream as the forwarder's lease does: at most `BATCH_MAX_ITEMS` and `BATCH_MAX_BYTES` each. */
function leases(envelopes: readonly Envelope[]): Envelope[][] {
  const batches: Envelope[][] = [];
  let batch: Envelope[] = [];
  let bytes = 0;
  for (const envelope of envelopes) {
    const size = estimateBytes(envelope);
    if (batch.length > 0 && (batch.length === BATCH_MAX_ITEMS || bytes + size > BATCH_MAX_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(envelope);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** What one connector bills for one lease: its messages and their billed units. */
type Encoder = (lease: readonly Envelope[]) => { messages: number; units: number };

/** The connectors' own encoders, so framing (properties, topics, gzip) is billed as they really send it. */
function encoders(encoding: Encoding): { name: string; encode: Encoder }[] {
  const now = Date.now();
  const aws = (template: string): Encoder => {
    const telemetry = new TopicTemplate(template, ['gateway', 'route', 'device', 'encoding']);
    return (lease) => {
      const { messages } = planTelemetry(lease, {
        gatewayId: GATEWAY,
        route: 'cloud',
        telemetry,
        maxMessageBytes: AWS_MAX_PAYLOAD_BYTES,
        encoding,
      });
      return { messages: messages.length, units: messages.reduce((n, m) => n + m.billedUnits, 0) };
    };
  };
  return [
    {
      name: 'iotHub',
      encode: (lease) => {
        const { messages } = encodeD2cBatch(lease, {
          gatewayId: GATEWAY,
          route: 'cloud',
          maxMessageBytes: MAX_D2C_BYTES,
          now,
          encoding,
        });
        return { messages: messages.length, units: messages.reduce((n, m) => n + m.billedUnits, 0) };
      },
    },
    // One topic for the gateway (the default, here with `{encoding}`): a lease becomes one message (or a few).
    { name: 'iotCore', encode: aws('dt/fieldgate/{gateway}/{encoding}') },
    // The opt-in topic per device: a lease of readings from many devices becomes one message per device,
    // so batching saves little when a lease spans the whole fleet.
    { name: 'iotCore.perDeviceTopic', encode: aws('dt/fieldgate/{gateway}/{device}') },
  ];
}

/**
 * Cloud cost (docs/benchmarks.md#cloud-cost): billed units per 10,000 sim readings with the default batching,
 * against one
 * message per reading, from the messages the Azure and AWS connectors' own encoders produce (properties
 * and topics included), plain JSON and `encoding: json+gzip`.
 */
export function cloudCost(): Promise<Sample[]> {
  const envelopes = simEnvelopes();
  const batches = leases(envelopes);
  const samples: Sample[] = [];
  for (const encoding of ['json', 'json+gzip'] as const) {
    const label = encoding === 'json' ? 'json' : 'gzip';
    for (const { name: cloud, encode } of encoders(encoding)) {
      const batched = batches.map(encode);
      const units = batched.reduce((n, b) => n + b.units, 0);
      const baseline = envelopes.reduce((n, e) => n + encode([e]).units, 0);
      samples.push(
        {
          name: `cost.${cloud}.${label}.messagesPer10k`,
          value: batched.reduce((n, b) => n + b.messages, 0),
          unit: 'messages',
        },
        { name: `cost.${cloud}.${label}.batchedPer10k`, value: units, unit: 'units' },
        { name: `cost.${cloud}.${label}.perReadingPer10k`, value: baseline, unit: 'units' },
      );
    }
  }
  return Promise.resolve(samples);
}
