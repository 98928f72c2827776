import { randomBytes } from 'node:crypto';

/** A PUBLISH the guard read past: where it came from and how big its payload was. */
export interface OversizePublish {
  topic: string;
  payloadBytes: number;
}

export interface PublishSizeGuardOptions {
  /** PUBLISH payloads larger than this are never buffered; their packet is replaced by a small stand-in. */
  maxPayloadBytes: number;
  /** 4 (MQTT 3.1.1) or 5: MQTT 5 PUBLISH packets carry a properties section after the packet id. */
  protocolVersion: 4 | 5;
}

const PUBLISH = 3;
const PUBACK = 4;
/**
 * What MQTT 5's Maximum Packet Size allows beyond the payload limit: fixed header, topic, packet id and
 * properties (IoT Core topics are at most 256 bytes, its user properties at most 8 KB).
 */
const HEADERS_ALLOWANCE_BYTES = 16 * 1024;
/** Fixed header: one type byte, then a Remaining Length of 1 to 4 bytes (MQTT 3.1.1 §2.2.3). */
const MAX_FIXED_HEADER = 5;

type State =
  /** Reading a fixed header; `header` holds its bytes so far. */
  | { kind: 'header' }
  /** Forwarding `left` more bytes of a packet unchanged. */
  | { kind: 'pass'; left: number }
  /** A PUBLISH whose Remaining Length allows an oversize payload: reading its topic and packet id. */
  | { kind: 'variableHeader'; fixed: Buffer; flags: number; remaining: number }
  /** Dropping `left` more payload bytes of an oversize PUBLISH. */
  | { kind: 'skip'; left: number };

/**
 * Sits between an MQTT connection's socket and the client's packet parser (inbound bytes only), so that
 * one huge PUBLISH costs no memory: the client library buffers a whole packet before it looks at it, and
 * MQTT 3.1.1 has no way to tell the broker a size limit (MQTT 5's Maximum Packet Size does).
 *
 * Every packet passes through unchanged, except a PUBLISH whose payload exceeds `maxPayloadBytes`: its
 * fixed and variable header (topic, packet id) are kept, its payload is read past and dropped as it
 * arrives, and the client gets the same PUBLISH with a short stand-in payload instead. So the client still
 * acknowledges it (QoS 1: the broker does not redeliver it forever), and the connection stays up.
 * {@link oversizeOf} recognises a stand-in payload; it carries a random per-guard token, so a payload the
 * broker sent cannot pass for one.
 *
 * Pure and synchronous: feed the inbound chunks in order to {@link push}, forward what it returns.
 * Buffers at most one fixed header plus one topic (≤ 64 KiB) at a time.
 */
export class PublishSizeGuard {
  readonly #maxPayloadBytes: number;
  readonly #protocolVersion: 4 | 5;
  readonly #token = `fieldgate-oversize:${randomBytes(12).toString('hex')}:`;
  #state: State = { kind: 'header' };
  /** Bytes of the fixed header or variable header being read. */
  #pending: Buffer = Buffer.alloc(0);
  /** Oversize PUBLISH packets read past so far. */
  oversizeCount = 0;
  /** PUBLISH packets the screen refused, read past unparsed. */
  droppedCount = 0;
  /** Asked for each QoS 0/1 PUBLISH once its topic is read: true drops it (see {@link setScreen}). */
  #screen: ((topic: string) => boolean) | undefined;
  /** Packets to write to the broker on the client's behalf: PUBACKs of dropped QoS 1 publishes. */
  #replies: Buffer[] = [];

  constructor(options: PublishSizeGuardOptions) {
    this.#maxPayloadBytes = options.maxPayloadBytes;
    this.#protocolVersion = options.protocolVersion;
  }

  /** The Maximum Packet Size an MQTT 5 CONNECT should announce for this guard's payload limit. */
  get maxPacketBytes(): number {
    return this.#maxPayloadBytes + HEADERS_ALLOWANCE_BYTES;
  }

  /** Forget a packet half read: a new connection starts at a packet boundary. */
  reset(): void {
    this.#state = { kind: 'header' };
    this.#pending = Buffer.alloc(0);
    this.#replies = [];
  }

  /**
   * From now on, each QoS 0 or 1 PUBLISH is shown to `drop` by topic before its payload is read; when it
   * returns true the packet is read past and never reaches the client (so costs no parse), and a QoS 1
   * one is acknowledged by the guard: {@link takeReplies} returns the PUBACK to write to the broker
   * (unacknowledged, it would stay in the broker's in-flight window and come back on reconnect).
   * QoS 2 publishes always pass: their handshake belongs to the client.
   */
  setScreen(drop: (topic: string) => boolean): void {
    this.#screen = drop;
  }

  /** The packets the guard owes the broker (PUBACKs), to write in order on the connection; emptied. */
  takeReplies(): Buffer[] {
    const replies = this.#replies;
    if (replies.length > 0) this.#replies = [];
    return replies;
  }

  /** The original payload size if `payload` is this guard's stand-in for an oversize PUBLISH. */
  oversizeOf(payload: Buffer): number | undefined {
    if (payload.length > this.#token.length + 20) return undefined;
    const text = payload.toString('latin1');
    if (!text.startsWith(this.#token)) return undefined;
    const bytes = Number(text.slice(this.#token.length));
    return Number.isSafeInteger(bytes) ? bytes : undefined;
  }

  /** Feed one inbound chunk; returns the chunks to hand to the MQTT client, in order (maybe none). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.#state;
      switch (state.kind) {
        case 'pass':
        case 'skip': {
          const take = Math.min(state.left, chunk.length - offset);
          if (state.kind === 'pass') out.push(chunk.subarray(offset, offset + take));
          offset += take;
          state.left -= take;
          if (state.left === 0) this.#state = { kind: 'header' };
          break;
        }
        case 'header':
          offset = this.#readFixedHeader(chunk, offset, out);
          break;
        case 'variableHeader':
          offset = this.#readVariableHeader(state, chunk, offset, out);
          break;
      }
    }
    return out;
  }

  #readFixedHeader(chunk: Buffer, offset: number, out: Buffer[]): number {
    const start = this.#pending.length;
    const more = chunk.subarray(offset, offset + MAX_FIXED_HEADER - start);
    const header = start === 0 ? more : Buffer.concat([this.#pending, more]);
    const parsed = parseFixedHeader(header);
    if (parsed === undefined) {
      // Incomplete (or a malformed length, which the client's parser will report on the bytes we pass).
      if (header.length >= MAX_FIXED_HEADER) {
        this.#pending = Buffer.alloc(0);
        out.push(header);
        return offset + header.length - start;
      }
      this.#pending = Buffer.from(header);
      return offset + header.length - start;
    }
    this.#pending = Buffer.alloc(0);
    const used = parsed.length - start;
    const fixed = header.subarray(0, parsed.length);
    const type = fixed[0]! >> 4;
    const qos = (fixed[0]! >> 1) & 0x03;
    const isScreened = this.#screen !== undefined && qos < 2;
    if (type === PUBLISH && (parsed.remaining > this.#maxPayloadBytes || isScreened)) {
      this.#state = { kind: 'variableHeader', fixed, flags: fixed[0]! & 0x0f, remaining: parsed.remaining };
    } else {
      out.push(fixed);
      this.#state = parsed.remaining === 0 ? { kind: 'header' } : { kind: 'pass', left: parsed.remaining };
    }
    return offset + used;
  }

  #readVariableHeader(
    state: Extract<State, { kind: 'variableHeader' }>,
    chunk: Buffer,
    offset: number,
    out: Buffer[],
  ): number {
    const idBytes = ((state.flags >> 1) & 0x03) > 0 ? 2 : 0;
    // The topic length, then the topic and packet id; never past the packet (a malformed one passes as is).
    const target = (): number =>
      Math.min(state.remaining, this.#pending.length < 2 ? 2 : 2 + this.#pending.readUInt16BE(0) + idBytes);
    if (this.#pending.length === 0 && chunk.length - offset >= 2) {
      // Fast path (every packet during a flood): the whole variable header is in this chunk; no copy.
      const want = Math.min(state.remaining, 2 + chunk.readUInt16BE(offset) + idBytes);
      if (chunk.length - offset >= want) {
        this.#pending = chunk.subarray(offset, offset + want);
        offset += want;
      }
    }
    while (this.#pending.length < target() && offset < chunk.length) {
      const take = Math.min(target() - this.#pending.length, chunk.length - offset);
      this.#pending = Buffer.concat([this.#pending, chunk.subarray(offset, offset + take)]);
      offset += take;
    }
    if (this.#pending.length < target()) return offset;
    const variable = this.#pending;
    this.#pending = Buffer.alloc(0);
    const payloadBytes = state.remaining - variable.length;
    const qos = (state.flags >> 1) & 0x03;
    if (this.#screen !== undefined && qos < 2 && variable.length === 2 + variable.readUInt16BE(0) + idBytes) {
      const topic = variable.toString('utf8', 2, 2 + variable.readUInt16BE(0));
      if (this.#screen(topic)) {
        this.droppedCount += 1;
        if (qos === 1)
          this.#replies.push(
            Buffer.from([PUBACK << 4, 2, variable[variable.length - 2]!, variable[variable.length - 1]!]),
          );
        this.#state = payloadBytes === 0 ? { kind: 'header' } : { kind: 'skip', left: payloadBytes };
        return offset;
      }
    }
    if (payloadBytes <= this.#maxPayloadBytes) {
      // Big only because of a long topic: hand the packet over unchanged.
      out.push(state.fixed, variable);
      this.#state = payloadBytes === 0 ? { kind: 'header' } : { kind: 'pass', left: payloadBytes };
      return offset;
    }
    this.oversizeCount += 1;
    // MQTT 5: the original properties are part of what is dropped; the stand-in has none.
    const properties = this.#protocolVersion === 5 ? Buffer.from([0]) : Buffer.alloc(0);
    const standIn = Buffer.from(`${this.#token}${payloadBytes}`, 'latin1');
    const body = Buffer.concat([variable, properties, standIn]);
    out.push(Buffer.from([(PUBLISH << 4) | state.flags]), encodeRemainingLength(body.length), body);
    this.#state = { kind: 'skip', left: payloadBytes };
    return offset;
  }
}

/** The fixed header at the start of `bytes`: its length and Remaining Length, or undefined if incomplete. */
export function parseFixedHeader(bytes: Buffer): { length: number; remaining: number } | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i < Math.min(bytes.length, MAX_FIXED_HEADER); i++) {
    const byte = bytes[i]!;
    remaining += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { length: i + 1, remaining };
    multiplier *= 128;
  }
  return undefined;
}

/** MQTT's variable byte integer. */
export function encodeRemainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}
