import { gunzipSync, gzipSync } from 'node:zlib';
import { readingJson, type Envelope, type Reading } from '../../model.js';
import { FieldgateError } from '../../errors.js';

/** One reading as it appears on the wire: the reading plus its gateway sequence number (its identity). */
export interface WireReading {
  gseq: number;
  device: string;
  /** The device's name, when the operator gave it one. */
  name?: string;
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

/** A wire reading is the stored reading JSON with this, the gseq and a comma in place of its `{`. */
const GSEQ_KEY = '{"gseq":';
const COMMA = 0x2c;

/**
 * The reading's JSON: the queue's stored bytes when the envelope carries them (`Envelope.encoded`), else
 * encoded here the same way.
 */
function readingBytes(envelope: Envelope): Buffer {
  // Not destructured: reading `reading` would decode a stored envelope's bytes for nothing.
  const { encoded } = envelope;
  if (encoded === undefined) return Buffer.from(readingJson(envelope.reading));
  return Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length);
}

function wrap(gatewayId: string, readingsJson: readonly string[]): string {
  return `{"gateway":${JSON.stringify(gatewayId)},"readings":[${readingsJson.join(',')}]}`;
}

/** Bytes of one reading in the payload, without the separating comma. */
function wireBytes(gseq: number, reading: Buffer): number {
  return GSEQ_KEY.length + String(gseq).length + reading.length;
}

/**
 * The uncompressed payload, written straight into one buffer: `{"gateway":…,"readings":[`, then per
 * reading `{"gseq":<n>,` and the reading's JSON after its `{`, comma-separated, then `]}`. Byte for byte
 * what `JSON.stringify` of the `BatchPayload` gives, without encoding stored readings again.
 */
function encodeJson(gatewayId: string, envelopes: readonly Envelope[]): Buffer {
  const head = Buffer.from(`{"gateway":${JSON.stringify(gatewayId)},"readings":[`);
  const foot = ']}';
  const readings = envelopes.map(readingBytes);
  let length = head.length + Math.max(0, envelopes.length - 1) + foot.length;
  envelopes.forEach(({ gseq }, index) => (length += wireBytes(gseq, readings[index]!)));
  const out = Buffer.allocUnsafe(length);
  out.set(head);
  let offset = head.length;
  envelopes.forEach(({ gseq }, index) => {
    if (index > 0) out[offset++] = COMMA;
    offset += out.write(`${GSEQ_KEY}${gseq},`, offset, 'latin1');
    offset += readings[index]!.copy(out, offset, 1);
  });
  out.write(foot, offset, 'latin1');
  return out;
}

export function encodeBatch(
  gatewayId: string,
  envelopes: readonly Envelope[],
  options: EncodeOptions,
): Buffer {
  const json = encodeJson(gatewayId, envelopes);
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
  return wireBytes(envelope.gseq, readingBytes(envelope)) + 1;
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
