import { readingJson, type Envelope, type Reading } from '../model.js';

/** Width of a stored sequence key. Fixed width big-endian, so LevelDB's byte order is numeric order. */
export const SEQ_KEY_BYTES = 8;

/** Encode a gateway sequence number (a non-negative safe integer) as an 8-byte big-endian key. */
export function encodeSeq(seq: number): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`sequence number must be a non-negative safe integer, got ${seq}`);
  }
  const key = Buffer.alloc(SEQ_KEY_BYTES);
  key.writeBigUInt64BE(BigInt(seq));
  return key;
}

export function decodeSeq(key: Uint8Array): number {
  if (key.length !== SEQ_KEY_BYTES) {
    throw new RangeError(`sequence key must be ${SEQ_KEY_BYTES} bytes, got ${key.length}`);
  }
  return Number(Buffer.from(key.buffer, key.byteOffset, key.length).readBigUInt64BE());
}

export function encodeReading(reading: Reading): Buffer {
  return Buffer.from(readingJson(reading), 'utf8');
}

/** `decodeReading`, or undefined for a damaged value. */
export function tryDecodeReading(value: Uint8Array): Reading | undefined {
  try {
    return decodeReading(value);
  } catch {
    return undefined;
  }
}

/** Decode a stored reading; throws when the bytes are not a reading (a damaged value). */
export function decodeReading(value: Uint8Array): Reading {
  const parsed: unknown = JSON.parse(
    Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8'),
  );
  if (!isReading(parsed)) throw new TypeError('stored value is not a reading');
  return parsed;
}

/**
 * A leased item as a queue hands it out: its stored bytes (`encoded`), and `reading` decoded from them only
 * when read, once. Upstreams that copy the bytes never decode, so a lease in flight holds no reading objects.
 * Build it only from bytes known to decode (the lease checked them). `reading` is an accessor: spreading an
 * instance (`{ ...envelope }`) leaves it out.
 */
export class StoredEnvelope implements Envelope {
  readonly gseq: number;
  readonly encoded: Uint8Array;
  #reading: Reading | undefined;

  constructor(gseq: number, encoded: Uint8Array) {
    this.gseq = gseq;
    this.encoded = encoded;
  }

  get reading(): Reading {
    return (this.#reading ??= decodeReading(this.encoded));
  }
}

/** The accounted size of one stored item: key plus encoded value, as in `QueueStats.bytes`. */
export function storedBytes(encodedReading: Uint8Array): number {
  return SEQ_KEY_BYTES + encodedReading.length;
}

function isReading(value: unknown): value is Reading {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Reading>;
  return (
    typeof candidate.device === 'string' &&
    typeof candidate.ts === 'number' &&
    typeof candidate.values === 'object' &&
    candidate.values !== null
  );
}
