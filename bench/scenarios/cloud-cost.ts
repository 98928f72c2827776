import { buildFleet } from '../../adapters/sim/fleet.js';
import type { Envelope } from '../../src/model.js';
import { encodeBatch, estimateBytes, type EncodeOptions } from '../../src/upstream/mqtt/encode.js';
import type { Sample } from '../support/figures.js';

const READINGS = 10_000;
const DEVICES = 1000;
const GATEWAY = 'gw-0001';
/** The route's default batching (`routes.<name>.batch`). */
const BATCH_MAX_ITEMS = 500;
const BATCH_MAX_BYTES = 64 * 1024;
/** Billing units: IoT Hub meters device-to-cloud messages in 4 KB blocks, IoT Core in 5 KB blocks. */
const CLOUDS = [
  { name: 'iotHub', unitBytes: 4 * 1024 },
  { name: 'iotCore', unitBytes: 5 * 1024 },
] as const;
const ENCODINGS: { name: string; options: EncodeOptions }[] = [
  { name: 'json', options: { gzip: false } },
  { name: 'gzip', options: { gzip: true } },
];

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

function billedUnits(payloadSizes: readonly number[], unitBytes: number): number {
  return payloadSizes.reduce((units, size) => units + Math.max(1, Math.ceil(size / unitBytes)), 0);
}

/**
 * Cloud cost (issue 9, item 6): billed units per 10,000 sim readings with the default batching, against one
 * message per reading, from payloads the real encoder produces. The Azure and AWS connectors will frame
 * messages their own way; until they exist the generic MQTT batch format stands in for both.
 */
export function cloudCost(): Promise<Sample[]> {
  const envelopes = simEnvelopes();
  const batches = leases(envelopes);
  const samples: Sample[] = [];
  for (const { name: encoding, options } of ENCODINGS) {
    const batched = batches.map((batch) => encodeBatch(GATEWAY, batch, options).length);
    const single = envelopes.map((envelope) => encodeBatch(GATEWAY, [envelope], options).length);
    samples.push({ name: `cost.${encoding}.messagesPer10k`, value: batched.length, unit: 'messages' });
    for (const { name: cloud, unitBytes } of CLOUDS) {
      const units = billedUnits(batched, unitBytes);
      const baseline = billedUnits(single, unitBytes);
      samples.push(
        { name: `cost.${cloud}.${encoding}.batchedPer10k`, value: units, unit: 'units' },
        { name: `cost.${cloud}.${encoding}.perReadingPer10k`, value: baseline, unit: 'units' },
      );
    }
  }
  return Promise.resolve(samples);
}
