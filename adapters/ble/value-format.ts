import type { ValueFormat } from './options.js';

/**
 * Fixed-width number encodings used by GATT characteristics and command payloads: one table, read and
 * write side by side so the two can never disagree.
 */
interface FormatSpec {
  bytes: number;
  min: number;
  max: number;
  read(buf: Buffer, offset: number): number;
  write(buf: Buffer, value: number, offset: number): void;
}

const FORMATS: Record<ValueFormat, FormatSpec> = {
  uint8: {
    bytes: 1,
    min: 0,
    max: 0xff,
    read: (b, o) => b.readUInt8(o),
    write: (b, v, o) => b.writeUInt8(v, o),
  },
  int8: {
    bytes: 1,
    min: -0x80,
    max: 0x7f,
    read: (b, o) => b.readInt8(o),
    write: (b, v, o) => b.writeInt8(v, o),
  },
  bool: { bytes: 1, min: 0, max: 1, read: (b, o) => b.readUInt8(o), write: (b, v, o) => b.writeUInt8(v, o) },
  uint16le: {
    bytes: 2,
    min: 0,
    max: 0xffff,
    read: (b, o) => b.readUInt16LE(o),
    write: (b, v, o) => b.writeUInt16LE(v, o),
  },
  int16le: {
    bytes: 2,
    min: -0x8000,
    max: 0x7fff,
    read: (b, o) => b.readInt16LE(o),
    write: (b, v, o) => b.writeInt16LE(v, o),
  },
  uint16be: {
    bytes: 2,
    min: 0,
    max: 0xffff,
    read: (b, o) => b.readUInt16BE(o),
    write: (b, v, o) => b.writeUInt16BE(v, o),
  },
  int16be: {
    bytes: 2,
    min: -0x8000,
    max: 0x7fff,
    read: (b, o) => b.readInt16BE(o),
    write: (b, v, o) => b.writeInt16BE(v, o),
  },
  uint24le: {
    bytes: 3,
    min: 0,
    max: 0xffffff,
    read: (b, o) => b.readUIntLE(o, 3),
    write: (b, v, o) => b.writeUIntLE(v, o, 3),
  },
  uint32le: {
    bytes: 4,
    min: 0,
    max: 0xffffffff,
    read: (b, o) => b.readUInt32LE(o),
    write: (b, v, o) => b.writeUInt32LE(v, o),
  },
  int32le: {
    bytes: 4,
    min: -0x80000000,
    max: 0x7fffffff,
    read: (b, o) => b.readInt32LE(o),
    write: (b, v, o) => b.writeInt32LE(v, o),
  },
  floatle: {
    bytes: 4,
    min: -3.4e38,
    max: 3.4e38,
    read: (b, o) => b.readFloatLE(o),
    write: (b, v, o) => b.writeFloatLE(v, o),
  },
};

/** Width in bytes and the raw range of a format. */
export function formatRange(format: ValueFormat): { bytes: number; min: number; max: number } {
  const { bytes, min, max } = FORMATS[format];
  return { bytes, min, max };
}

/** Reads one raw number at `offset`; undefined when the buffer is too short. */
export function readValue(buf: Buffer, format: ValueFormat, offset = 0): number | undefined {
  const spec = FORMATS[format];
  if (offset < 0 || offset + spec.bytes > buf.length) return undefined;
  return spec.read(buf, offset);
}

/**
 * Encodes one raw number. Integers formats round; the caller has already checked the range with
 * `formatRange`, so an out-of-range value here is a bug and throws (RangeError from Buffer).
 */
export function encodeValue(value: number, format: ValueFormat): Buffer {
  const spec = FORMATS[format];
  const buf = Buffer.alloc(spec.bytes);
  spec.write(buf, format === 'floatle' ? value : Math.round(value), 0);
  return buf;
}
