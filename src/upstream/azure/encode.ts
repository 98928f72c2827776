import type { Envelope } from '../../model.js';
import { splitBatch } from '../common/batch-payload.js';
import { billedUnits, MAX_BATCH_BYTES, MAX_D2C_BYTES } from './protocol/limits.js';
import { formatPropertyBag } from './protocol/property-bag.js';

/** Room for the framing of each message and property inside a batch (AMQP sections, JSON and base64 grow more). */
const BATCH_OVERHEAD_BYTES = 16;

/**
 * Room kept for the property bag when cutting bodies: ours is under 300 bytes, so a body cut to the limit
 * minus this always fits with its properties.
 */
const PROPERTY_RESERVE_BYTES = 1024;

/** How a D2C body is encoded: plain JSON, or the same JSON gzipped (`$.ce` says which). */
export type D2cEncoding = 'json' | 'json+gzip';

/**
 * With gzip, a message gathers up to this many times its size limit in uncompressed JSON before it is
 * compressed: the hub limits and bills the compressed bytes, our readings compress 8–10×, so 4× nearly
 * always fits on the first try (a slice that does not is halved). It also bounds what a consumer inflates
 * per message: at most 1 MiB.
 */
export const GZIP_RAW_PER_LIMIT = 4;

/** One D2C message: its readings, body, properties and what the hub will bill for it. */
export interface D2cMessage {
  items: Envelope[];
  body: Buffer;
  /** System (`$.mid`, `$.ct`, `$.ce`, `$.ctime`) and application properties. */
  properties: Record<string, string>;
  /** Body plus property names and values: the size the hub limits and meters. */
  sizeBytes: number;
  billedUnits: number;
}

export interface D2cBatch {
  messages: D2cMessage[];
  /** Items that alone exceed the message limit: never sendable, to be dead-lettered. */
  oversized: Envelope[];
}

export interface EncodeD2cOptions {
  gatewayId: string;
  route: string;
  /** Largest message, properties included; at most {@link MAX_D2C_BYTES}. */
  maxMessageBytes: number;
  /** Epoch ms stamped as the creation time. */
  now: number;
  /** Default `json`. */
  encoding?: D2cEncoding;
}

/**
 * Cut a batch into D2C messages, each as full as `maxMessageBytes` allows, in FIFO order. Filling messages
 * is what keeps billing low: the hub bills `ceil(size / 4 KB)` per message, so one 60 KB message of 300
 * readings costs 15 units where 300 single-reading messages cost 300.
 *
 * The body is the fieldgate batch payload `{"gateway", "readings": [{gseq, device, ts, values…}]}` shared
 * with the generic MQTT connector, so cloud-side consumers parse one format. The message id is derived from
 * the route and first sequence number, so a resend after a crash carries the same id.
 *
 * With `json+gzip` the body is that JSON gzipped (`$.ce: gzip`): the hub's limit and meter apply to the
 * compressed bytes, so a message carries several times more readings per billed unit (up to
 * {@link GZIP_RAW_PER_LIMIT} × the limit uncompressed), but routing queries can no longer look into the body.
 */
export function encodeD2cBatch(envelopes: readonly Envelope[], options: EncodeD2cOptions): D2cBatch {
  const maxBodyBytes = Math.min(options.maxMessageBytes, MAX_D2C_BYTES) - PROPERTY_RESERVE_BYTES;
  const gzip = options.encoding === 'json+gzip';
  const split = splitBatch(options.gatewayId, envelopes, maxBodyBytes, {
    gzip,
    maxRawBytes: maxBodyBytes * GZIP_RAW_PER_LIMIT,
  });
  const messages = split.messages.map(({ items, payload }) => {
    const properties = d2cProperties(items, options);
    const sizeBytes = payload.length + propertyBytes(properties);
    return { items, body: payload, properties, sizeBytes, billedUnits: billedUnits(sizeBytes) };
  });
  return { messages, oversized: split.oversized };
}

/** The property bag for the events topic. */
export function d2cPropertyBag(message: D2cMessage): string {
  return formatPropertyBag(message.properties);
}

function d2cProperties(items: readonly Envelope[], options: EncodeD2cOptions): Record<string, string> {
  const first = items[0]!;
  const properties: Record<string, string> = {
    '$.mid': `${options.gatewayId}-${options.route}-${first.gseq}`,
    '$.ct': 'application/json',
    // The hub reads `utf-8` as "the body is queryable JSON"; `gzip` tells consumers to inflate it first.
    '$.ce': options.encoding === 'json+gzip' ? 'gzip' : 'utf-8',
    '$.ctime': new Date(options.now).toISOString(),
    'fieldgate-type': 'telemetry',
    'fieldgate-gateway': options.gatewayId,
    'fieldgate-count': String(items.length),
  };
  // Gateway identity: the hub sees only the gateway, so a single-leaf message names its leaf for routing
  // queries (`$.fieldgate-device`); a mixed message leaves that to the body.
  const device = first.reading.device;
  if (items.every((e) => e.reading.device === device)) properties['fieldgate-device'] = device;
  return properties;
}

/**
 * The hub counts system property values and application property names and values
 * (docs/clouds/azure-iot-hub.md#limits-throttles-quotas-billing).
 */
function propertyBytes(properties: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(properties)) {
    bytes += Buffer.byteLength(value) + (key.startsWith('$.') ? 0 : Buffer.byteLength(key));
  }
  return bytes;
}

/**
 * Group D2C messages, in order, into batches (an AMQP batch transfer, an HTTPS batch request) of at most
 * `maxBytes` encoded. A message too large to share a batch goes alone (the encoder already keeps every message under the hub's limit).
 */
export function groupIntoBatches(
  messages: readonly D2cMessage[],
  maxBytes = MAX_BATCH_BYTES,
): D2cMessage[][] {
  const transfers: D2cMessage[][] = [];
  let current: D2cMessage[] = [];
  let currentBytes = 0;
  for (const message of messages) {
    const bytes = message.sizeBytes + BATCH_OVERHEAD_BYTES * (1 + Object.keys(message.properties).length);
    if (current.length > 0 && currentBytes + bytes > maxBytes) {
      transfers.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(message);
    currentBytes += bytes;
  }
  if (current.length > 0) transfers.push(current);
  return transfers;
}
