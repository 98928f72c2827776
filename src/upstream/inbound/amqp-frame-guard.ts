/** Why the guard refused an AMQP peer's input; the connection must be cut (an AMQP framing error). */
export type AmqpInboundViolation =
  /** A frame larger than the max-frame-size we announced in `open`. */
  | { kind: 'frameTooLarge'; frameBytes: number; limit: number }
  /** A delivery whose transfer frames add up to more than the max-message-size we announced in `attach`. */
  | { kind: 'messageTooLarge'; messageBytes: number; limit: number }
  /** A frame header or transfer performative that cannot be read (size under 8, bad data offset, …). */
  | { kind: 'malformed'; detail: string };

export interface AmqpFrameGuardOptions {
  /** The max-frame-size announced in our `open`: no frame from the peer may be larger. */
  maxFrameBytes: number;
  /** The largest message (sum of a delivery's transfer payloads) taken on any link. */
  maxMessageBytes: number;
}

/** The frame header: size (4), data offset in 4-byte words (1), type (1), channel (2); AMQP 1.0 §2.3.1. */
const FRAME_HEADER_BYTES = 8;
/**
 * "AMQP" then protocol id and version: the 8-byte header (as long as a frame header) that starts a
 * connection and follows SASL (§2.2).
 */
const AMQP_MAGIC = 0x414d5150;
const FRAME_TYPE_AMQP = 0;
/** The transfer performative's descriptor code (§2.7.5) and symbolic name. */
const TRANSFER_CODE = 0x14;
const TRANSFER_SYMBOL = 'amqp:transfer:list';
/**
 * Bytes of a frame body read to find a transfer's handle, delivery id and `more` flag: they come before
 * the delivery tag's end (a tag is at most 32 bytes, §2.8.7), so a well-formed performative has them in
 * well under this.
 */
const PERFORMATIVE_PEEK_BYTES = 256;

type State =
  /** At a frame boundary: `head` holds up to 8 bytes (a protocol header or a frame header). */
  | { kind: 'boundary' }
  /** Skipping `left` bytes (extended header) before peeking at the performative. */
  | { kind: 'extended'; left: number; frame: FrameInfo }
  /** Collecting the start of an AMQP frame's body into `peek`. */
  | { kind: 'peek'; frame: FrameInfo; want: number }
  /** Skipping the rest of a frame. */
  | { kind: 'skip'; left: number };

interface FrameInfo {
  size: number;
  channel: number;
  /** Body bytes after the extended header. */
  bodyBytes: number;
}

/**
 * Reads an AMQP 1.0 byte stream from the peer alongside the client library (it does not change a byte),
 * and reports the first input that breaks the limits we announced: a frame over `maxFrameBytes`, or a
 * message whose transfer frames (per session channel and link handle) add up to more than
 * `maxMessageBytes`. rhea, the AMQP library, would buffer either whole; the guard sees only headers, so
 * the caller can cut the connection before the bytes pile up. Holds at most 8 + 256 bytes at a time.
 *
 * Pure and synchronous: feed inbound chunks in order to {@link push}. After a violation it reports the
 * same one again for any further input; {@link reset} for a new connection.
 */
export class AmqpFrameGuard {
  readonly #options: AmqpFrameGuardOptions;
  #state: State = { kind: 'boundary' };
  #head: Buffer = Buffer.alloc(0);
  #peek: Buffer = Buffer.alloc(0);
  /** Partial deliveries: `channel:handle` → delivery id and payload bytes so far. */
  readonly #partial = new Map<string, { deliveryId: number | undefined; bytes: number }>();
  #violation: AmqpInboundViolation | undefined;

  constructor(options: AmqpFrameGuardOptions) {
    this.#options = options;
  }

  reset(): void {
    this.#state = { kind: 'boundary' };
    this.#head = Buffer.alloc(0);
    this.#peek = Buffer.alloc(0);
    this.#partial.clear();
    this.#violation = undefined;
  }

  /** Feed one inbound chunk; returns the violation if this input (or earlier input) broke a limit. */
  push(chunk: Buffer): AmqpInboundViolation | undefined {
    let offset = 0;
    while (offset < chunk.length && this.#violation === undefined) {
      const state = this.#state;
      switch (state.kind) {
        case 'boundary':
          offset = this.#readHead(chunk, offset);
          break;
        case 'extended':
        case 'skip': {
          const take = Math.min(state.left, chunk.length - offset);
          offset += take;
          state.left -= take;
          if (state.left === 0)
            this.#state = state.kind === 'skip' ? { kind: 'boundary' } : this.#peekState(state.frame);
          break;
        }
        case 'peek': {
          const take = Math.min(state.want - this.#peek.length, chunk.length - offset);
          this.#peek = Buffer.concat([this.#peek, chunk.subarray(offset, offset + take)]);
          offset += take;
          if (this.#peek.length === state.want) this.#inspect(state.frame, state.want);
          break;
        }
      }
    }
    return this.#violation;
  }

  #readHead(chunk: Buffer, offset: number): number {
    const take = Math.min(FRAME_HEADER_BYTES - this.#head.length, chunk.length - offset);
    this.#head =
      this.#head.length === 0
        ? chunk.subarray(offset, offset + take)
        : Buffer.concat([this.#head, chunk.subarray(offset, offset + take)]);
    offset += take;
    if (this.#head.length < FRAME_HEADER_BYTES) {
      this.#head = Buffer.from(this.#head); // do not pin the peer's chunk
      return offset;
    }
    const head = this.#head;
    this.#head = Buffer.alloc(0);
    // A protocol header (at the start, and again after SASL): "AMQP" as a frame size would be ~1 GiB.
    if (head.readUInt32BE(0) === AMQP_MAGIC) return offset;
    const size = head.readUInt32BE(0);
    const dataOffsetBytes = head[4]! * 4;
    if (size > this.#options.maxFrameBytes) {
      this.#violation = { kind: 'frameTooLarge', frameBytes: size, limit: this.#options.maxFrameBytes };
      return offset;
    }
    if (size < FRAME_HEADER_BYTES || dataOffsetBytes < FRAME_HEADER_BYTES || dataOffsetBytes > size) {
      this.#violation = { kind: 'malformed', detail: `frame size ${size}, data offset ${dataOffsetBytes}` };
      return offset;
    }
    const bodyBytes = size - dataOffsetBytes;
    const frame: FrameInfo = { size, channel: head.readUInt16BE(6), bodyBytes };
    if (head[5] !== FRAME_TYPE_AMQP || bodyBytes === 0) {
      this.#state =
        size === FRAME_HEADER_BYTES
          ? { kind: 'boundary' }
          : { kind: 'skip', left: size - FRAME_HEADER_BYTES };
    } else if (dataOffsetBytes > FRAME_HEADER_BYTES) {
      this.#state = { kind: 'extended', left: dataOffsetBytes - FRAME_HEADER_BYTES, frame };
    } else {
      this.#state = this.#peekState(frame);
    }
    return offset;
  }

  #peekState(frame: FrameInfo): State {
    this.#peek = Buffer.alloc(0);
    return { kind: 'peek', frame, want: Math.min(frame.bodyBytes, PERFORMATIVE_PEEK_BYTES) };
  }

  /** The start of an AMQP frame body is in `#peek`: count a transfer's payload toward its delivery. */
  #inspect(frame: FrameInfo, peeked: number): void {
    const body = this.#peek;
    this.#peek = Buffer.alloc(0);
    const rest = frame.bodyBytes - peeked;
    this.#state = rest === 0 ? { kind: 'boundary' } : { kind: 'skip', left: rest };
    let transfer: Transfer | undefined;
    try {
      transfer = readTransfer(body);
    } catch {
      this.#violation = { kind: 'malformed', detail: 'unreadable performative' };
      return;
    }
    if (transfer === undefined) return;
    const payloadBytes = frame.bodyBytes - transfer.performativeBytes;
    if (payloadBytes < 0) {
      this.#violation = { kind: 'malformed', detail: 'transfer performative longer than its frame' };
      return;
    }
    const key = `${frame.channel}:${transfer.handle}`;
    const partial = this.#partial.get(key);
    // A delivery id other than the one in progress starts a new delivery (the old one was aborted).
    const isSame =
      partial !== undefined &&
      (transfer.deliveryId === undefined || transfer.deliveryId === partial.deliveryId);
    const bytes = (isSame ? partial.bytes : 0) + payloadBytes;
    if (bytes > this.#options.maxMessageBytes) {
      this.#violation = {
        kind: 'messageTooLarge',
        messageBytes: bytes,
        limit: this.#options.maxMessageBytes,
      };
      return;
    }
    if (transfer.more) {
      this.#partial.set(key, { deliveryId: isSame ? partial.deliveryId : transfer.deliveryId, bytes });
    } else {
      this.#partial.delete(key);
    }
  }
}

interface Transfer {
  handle: number;
  deliveryId: number | undefined;
  more: boolean;
  /** Encoded length of the performative (descriptor and field list); the message bytes follow it. */
  performativeBytes: number;
}

/**
 * The fields the guard needs of a transfer performative at the start of `body`, or undefined if the
 * frame carries another performative. Throws when the bytes cannot be a performative, or when the fields
 * up to `more` lie beyond what was peeked (only a hostile encoding does that).
 * Encoding: AMQP 1.0 types §1.2 (constructor byte, described types) and §1.6 (list8/list32).
 */
export function readTransfer(body: Buffer): Transfer | undefined {
  const reader = new Reader(body);
  if (reader.byte() !== 0x00) throw new Error('not a described type');
  const descriptor = reader.value();
  const isTransfer =
    descriptor === TRANSFER_CODE || (typeof descriptor === 'string' && descriptor === TRANSFER_SYMBOL);
  if (!isTransfer) return undefined;
  const listStart = reader.offset;
  const constructor = reader.byte();
  let count: number;
  let listBytes: number;
  if (constructor === 0x45) {
    count = 0;
    listBytes = 1;
  } else if (constructor === 0xc0) {
    listBytes = 2 + reader.byte();
    count = reader.byte();
  } else if (constructor === 0xd0) {
    listBytes = 5 + reader.uint32();
    count = reader.uint32();
  } else {
    throw new Error('transfer fields are not a list');
  }
  const fields: unknown[] = [];
  for (let i = 0; i < Math.min(count, 6); i++) fields.push(reader.value());
  const handle = fields[0];
  if (typeof handle !== 'number') throw new Error('transfer without a handle');
  const deliveryId = fields[1];
  return {
    handle,
    deliveryId: typeof deliveryId === 'number' ? deliveryId : undefined,
    more: fields[5] === true,
    performativeBytes: listStart + listBytes,
  };
}

/** Reads AMQP primitive values: numbers and booleans decoded, strings of symbols decoded, the rest skipped. */
class Reader {
  offset = 0;
  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    this.#need(1);
    return this.bytes[this.offset++]!;
  }

  uint32(): number {
    this.#need(4);
    const n = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return n;
  }

  /** One value; a described value yields its value (the descriptor is skipped). */
  value(): unknown {
    const code = this.byte();
    switch (code) {
      case 0x00:
        this.value();
        return this.value();
      case 0x40:
        return undefined;
      case 0x41:
        return true;
      case 0x42:
        return false;
      case 0x43:
      case 0x44:
        return 0;
      case 0x56:
        return this.byte() !== 0;
      case 0x50:
      case 0x52:
      case 0x53:
        return this.byte();
      case 0x70:
        return this.uint32();
      case 0x80: {
        this.#need(8);
        const n = Number(this.bytes.readBigUInt64BE(this.offset));
        this.offset += 8;
        return n;
      }
      case 0xa3: {
        const length = this.byte();
        this.#need(length);
        const text = this.bytes.toString('latin1', this.offset, this.offset + length);
        this.offset += length;
        return text;
      }
    }
    // Anything else is skipped by its width, which the constructor's high nibble fixes (types §1.2).
    const width = [0, 0, 0, 0, 0, 1, 2, 4, 8, 16][code >> 4];
    if (width !== undefined) return this.#skip(width);
    const sizeBytes = (code >> 4) % 2 === 0 ? 1 : 4; // 0xa/0xc/0xe: 1-byte size; 0xb/0xd/0xf: 4-byte size
    const size = sizeBytes === 1 ? this.byte() : this.uint32();
    return this.#skip(size);
  }

  #skip(n: number): undefined {
    this.#need(n);
    this.offset += n;
    return undefined;
  }

  #need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new Error('value runs past the peeked bytes');
  }
}
