import { gunzipSync, gzipSync } from 'node:zlib';
import type { Envelope, Reading } from '../../model.js';
import { FieldgateError } from '../../errors.js';

/** One reading as it appears on the wire: the reading plus its gateway sequence number (its identity). */
export interface WireReading {
  gseq: number;
  device: string;
  ts: number;
  values: Reading['values'];
  units?: Record<string, string>;
  seq?: number;
}

/** The batch payload: `{"gateway": id, "readings": [...]}`, JSON, optionally gzipped. */
export interface BatchPayload {
  gateway: string;
  readings: WireReading[];
}

export interface EncodeOptions {
  gzip: boolean;
  /**
   * With gzip: how many uncompressed bytes a slice may gather before it is compressed and checked against
   * the message limit (default the limit itself). Larger lets one message carry what compresses into it.
   */
  maxRawBytes?: number;
}

/** A slice of a batch that fits in one message, with its encoded payload. */
export interface EncodedMessage {
  items: Envelope[];
  payload: Buffer;
}

export interface SplitBatch {
  messages: EncodedMessage[];
  /** Items that alone exceed the message size: they can never be sent and must be rejected. */
  oversized: Envelope[];
}

const GZIP_MAGIC = [0x1f, 0x8b] as const;

function toWire({ gseq, reading }: Envelope): WireReading {
  const wire: WireReading = { gseq, device: reading.device, ts: reading.ts, values: reading.values };
  if (reading.units !== undefined) wire.units = reading.units;
  if (reading.seq !== undefined) wire.seq = reading.seq;
  return wire;
}

function wrap(gatewayId: string, readingsJson: readonly string[]): string {
  return `{"gateway":${JSON.stringify(gatewayId)},"readings":[${readingsJson.join(',')}]}`;
}

export function encodeBatch(
  gatewayId: string,
  envelopes: readonly Envelope[],
  options: EncodeOptions,
): Buffer {
  const json = Buffer.from(
    wrap(
      gatewayId,
      envelopes.map((e) => JSON.stringify(toWire(e))),
    ),
  );
  return options.gzip ? gzipSync(json) : json;
}

/**
 * The inverse of `encodeBatch`, for tests, benchmarks and tools. Detects gzip by its magic bytes.
 * Throws `FG_UPSTREAM_REJECTED` when the buffer is not a batch payload.
 */
export function decodeBatch(payload: Buffer): BatchPayload {
  const isGzip = payload[0] === GZIP_MAGIC[0] && payload[1] === GZIP_MAGIC[1];
  try {
    const parsed = JSON.parse((isGzip ? gunzipSync(payload) : payload).toString('utf8')) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'gateway' in parsed &&
      typeof parsed.gateway === 'string' &&
      'readings' in parsed &&
      Array.isArray(parsed.readings)
    ) {
      return { gateway: parsed.gateway, readings: parsed.readings as WireReading[] };
    }
  } catch (e) {
    throw new FieldgateError('FG_UPSTREAM_REJECTED', 'The payload is not a fieldgate batch.', { cause: e });
  }
  throw new FieldgateError('FG_UPSTREAM_REJECTED', 'The payload is not a fieldgate batch.');
}

/** Bytes the envelope adds to an uncompressed batch payload (its JSON plus a separating comma). */
export function estimateBytes(envelope: Envelope): number {
  return Buffer.byteLength(JSON.stringify(toWire(envelope))) + 1;
}

/**
 * Cut a batch into messages of at most `maxMessageBytes` encoded bytes, keeping FIFO order. Greedy on the
 * uncompressed size (which gzip only shrinks, bar a few header bytes); a gzipped slice that still does not
 * fit is halved until it does.
 */
export function splitBatch(
  gatewayId: string,
  envelopes: readonly Envelope[],
  maxMessageBytes: number,
  options: EncodeOptions,
): SplitBatch {
  const emptyBytes = Buffer.byteLength(wrap(gatewayId, []));
  const sliceLimitBytes = options.gzip ? (options.maxRawBytes ?? maxMessageBytes) : maxMessageBytes;
  const messages: EncodedMessage[] = [];
  const oversized: Envelope[] = [];
  let slice: Envelope[] = [];
  let sliceBytes = emptyBytes;

  const emit = (items: Envelope[]): void => {
    const payload = encodeBatch(gatewayId, items, options);
    if (payload.length <= maxMessageBytes) {
      messages.push({ items, payload });
    } else if (items.length === 1) {
      oversized.push(...items);
    } else {
      const half = Math.ceil(items.length / 2);
      emit(items.slice(0, half));
      emit(items.slice(half));
    }
  };

  for (const envelope of envelopes) {
    // The first reading in a payload has no comma, so this over-counts by one byte: harmless.
    const bytes = estimateBytes(envelope);
    if (slice.length > 0 && sliceBytes + bytes > sliceLimitBytes) {
      emit(slice);
      slice = [];
      sliceBytes = emptyBytes;
    }
    slice.push(envelope);
    sliceBytes += bytes;
  }
  if (slice.length > 0) emit(slice);
  return { messages, oversized };
}
